-- core.person_month for data month $period: roster families, their unlisted hukou members, then
-- everyone else in mps_hukou_members grouped by hukou household.
with roster as (
    select * from staging.mca_roster
    where period = $period and person_id is not null and family_id is not null
    qualify row_number() over (partition by family_id, person_id order by _row) = 1
),
members as (
    select * from staging.mps_hukou_members
    where period = $period and person_id is not null and hukou_no is not null
    qualify row_number() over (partition by person_id order by as_of desc nulls last, _row desc) = 1
),
roster_persons as (
    select
        r.person_id,
        r.family_id as household_id,
        r.family_id,
        m.hukou_no,
        true as on_roster,
        r.category,
        r.region_code,
        r.urban_rural,
        r.relation,
        r.birth_date,
        r.name,
        r.monthly_benefit_yuan
    from roster r
    left join members m using (person_id)
),
family_hukou as (
    -- the hukou households of roster families: an unlisted member of one joins that family
    select hukou_no, family_id, region_code, urban_rural
    from roster_persons
    where hukou_no is not null
    qualify row_number() over (partition by hukou_no order by (relation = 'head') desc, family_id) = 1
),
others as (
    select m.person_id, m.hukou_no, m.region_code
    from members m
    anti join roster r using (person_id)
),
attached as (
    select
        o.person_id,
        f.family_id as household_id,
        f.family_id,
        o.hukou_no,
        false as on_roster,
        cast(null as varchar) as category,
        f.region_code,
        f.urban_rural,
        cast(null as varchar) as relation,
        try_strptime(substr(o.person_id, 7, 8), '%Y%m%d')::date as birth_date,
        cast(null as varchar) as name,
        cast(null as decimal(14,2)) as monthly_benefit_yuan
    from others o
    join family_hukou f using (hukou_no)
),
non_roster as (
    select
        o.person_id,
        'H' || o.hukou_no as household_id,
        cast(null as varchar) as family_id,
        o.hukou_no,
        false as on_roster,
        cast(null as varchar) as category,
        o.region_code,
        -- 统计用区划代码: village code 001-199 居委会 (urban), 200-399 村委会 (rural)
        case when try_cast(right(o.region_code, 3) as integer) between 1 and 199 then 'urban' else 'rural' end
            as urban_rural,
        cast(null as varchar) as relation,
        try_strptime(substr(o.person_id, 7, 8), '%Y%m%d')::date as birth_date,
        cast(null as varchar) as name,
        cast(null as decimal(14,2)) as monthly_benefit_yuan
    from others o
    anti join family_hukou f using (hukou_no)
),
everyone as (
    select * from roster_persons
    union all select * from attached
    union all select * from non_roster
)
select
    $period as period,
    person_id,
    household_id,
    family_id,
    hukou_no,
    on_roster,
    category,
    region_code,
    left(region_code, 6) as county_code,
    left(region_code, 4) as city_code,
    urban_rural,
    relation,
    birth_date,
    name,
    monthly_benefit_yuan
from everyone
