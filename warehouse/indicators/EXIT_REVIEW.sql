-- EXIT_REVIEW 应退尽退复核 for data month $period: an enrolled household ($enrolled_categories) with
--  vehicle: a register/transfer_in of a car/truck dated in M by a member;
--  business: a samr record dated in M, status active, company or individual with capital >= threshold;
--  property: a member's property_count in the housing snapshot covering M > in the previous snapshot;
--  assets: (deposits + securities) / size >= $assets_std_multiple x 低保 standard in the bank snapshot covering M;
--  income: per-capita income >= $income_line_multiple x the applicable line in each of M-2..M (all known)
--          (dibao: 低保 standard, tekun: 特困 standard, edge: edge multiplier x 低保 standard).
with households as (
    select *, edge_multiplier_for(city_code, $edge_multiplier) as edge_multiplier
    from core.household_month
    where period = $period and on_roster and list_contains($enrolled_categories, category) and size > 0
),
members as (
    select p.household_id, p.person_id, p.name, p.relation
    from core.person_month p
    where p.period = $period and p.household_id in (select household_id from households)
),
vehicles as (
    select m.household_id,
           list(struct_pack(person_id := v.person_id, vehicle_class := v.vehicle_class, event := v.event,
                            event_date := v.event_date) order by v.event_date, v.person_id) as items,
           arg_min(m.person_id, v.event_date) as person_id,
           arg_min(m.name, v.event_date) as name, arg_min(m.relation, v.event_date) as relation,
           arg_min(v.vehicle_class, v.event_date) as vehicle_class
    from (select distinct person_id, vehicle_class, event, event_date from staging.mps_vehicles
          where event_date between $period_start and $period_end
            and list_contains($vehicle_classes, vehicle_class) and list_contains($vehicle_events, event)) v
    join members m using (person_id)
    group by m.household_id
),
businesses as (
    select m.household_id,
           list(struct_pack(credit_code := b.credit_code, person_id := b.person_id, entity_type := b.entity_type,
                            registered_capital_yuan := b.registered_capital_yuan, event_date := b.event_date)
                order by b.event_date, b.credit_code) as items,
           arg_min(m.person_id, b.event_date) as person_id,
           arg_min(m.name, b.event_date) as name, arg_min(m.relation, b.event_date) as relation,
           arg_min(b.entity_type, b.event_date) as entity_type,
           arg_min(b.registered_capital_yuan, b.event_date) as capital_yuan
    from (select distinct credit_code, person_id, entity_type, registered_capital_yuan, event_date
          from staging.samr_business
          where event_date between $period_start and $period_end and status = 'active'
            and (entity_type = 'company'
                 or (entity_type = 'individual' and registered_capital_yuan >= $individual_min_capital_yuan))) b
    join members m using (person_id)
    group by m.household_id
),
housing_now as (
    select * from staging.mohurd_housing
    where delivery_id = (select delivery_id from core.feed_month
                         where feed_id = 'mohurd_housing' and period = $period and status = 'loaded')
),
housing_before as (
    select * from staging.mohurd_housing
    where period = (select max(period) from staging.mohurd_housing where period < (select min(period) from housing_now))
),
properties as (
    select m.household_id, sum(n.property_count) as property_count, sum(b.property_count) as property_count_before,
           arg_max(m.person_id, n.property_count - b.property_count) as person_id,
           list(m.person_id order by m.person_id) as person_ids
    from members m
    join housing_now n using (person_id)
    join housing_before b using (person_id)
    group by m.household_id
    having sum(n.property_count) > sum(b.property_count)
),
bank as (
    select m.household_id, sum(coalesce(d.deposits_yuan, 0) + coalesce(d.securities_yuan, 0)) as assets_yuan,
           any_value(d.as_of) as as_of
    from members m
    join staging.bank_deposits d on d.person_id = m.person_id
     and d.delivery_id = (select delivery_id from core.feed_month
                          where feed_id = 'bank_deposits' and period = $period and status = 'loaded')
    group by m.household_id
),
assets as (
    select b.*, h.size, b.assets_yuan / h.size as assets_per_capita_yuan
    from bank b join households h using (household_id)
    where b.assets_yuan / h.size >= $assets_std_multiple * h.dibao_std_yuan
),
income as (
    select h.household_id,
           count(*) as months,
           min(hm.income_yuan / hm.size / case h.category when 'tekun' then hm.tekun_std_yuan
                                                        when 'edge' then h.edge_multiplier * hm.dibao_std_yuan
                                                        else hm.dibao_std_yuan end) as min_line_ratio,
           min(hm.income_yuan / hm.size) as min_per_capita_yuan,
           list_sort(list(struct_pack(period := hm.period, income_yuan := hm.income_yuan, size := hm.size))) as detail
    from households h
    join core.household_month hm
      on hm.household_id = h.household_id
     and hm.month_idx between $month_idx - ($income_months - 1) and $month_idx
     and hm.income_known and hm.size > 0
    group by h.household_id
    having count(*) = $income_months
       and min(hm.income_yuan / hm.size / case h.category when 'tekun' then hm.tekun_std_yuan
                                                        when 'edge' then h.edge_multiplier * hm.dibao_std_yuan
                                                        else hm.dibao_std_yuan end) >= $income_line_multiple
),
fired as (
    select h.*,
           v.items as vehicle_items, v.person_id as vehicle_person_id, v.name as vehicle_name,
           v.relation as vehicle_relation, v.vehicle_class,
           b.items as business_items, b.person_id as business_person_id, b.name as business_name,
           b.relation as business_relation, b.entity_type, b.capital_yuan,
           pr.property_count, pr.property_count_before, pr.person_id as property_person_id,
           a.assets_yuan, a.assets_per_capita_yuan, a.as_of as assets_as_of,
           i.min_per_capita_yuan, i.min_line_ratio, i.detail as income_detail,
           case h.category when 'tekun' then h.tekun_std_yuan when 'edge' then h.edge_multiplier * h.dibao_std_yuan
                           else h.dibao_std_yuan end as line_yuan
    from households h
    left join vehicles v using (household_id)
    left join businesses b using (household_id)
    left join properties pr using (household_id)
    left join assets a using (household_id)
    left join income i using (household_id)
    where v.household_id is not null or b.household_id is not null or pr.household_id is not null
       or a.household_id is not null or i.household_id is not null
),
named as (
    select f.*, p.name as head_name
    from fired f
    left join core.person_month p on p.period = $period and p.household_id = f.household_id and p.person_id = f.head_person_id
)
select
    'EXIT_REVIEW' as indicator_code,
    $sev_default as severity,
    $period as period,
    household_id, family_id, hukou_no,
    coalesce(vehicle_person_id, business_person_id, property_person_id, head_person_id) as person_id,
    county_code,
    $departments as departments,
    json_object(
        'category', category, 'size', size,
        'triggers', list_filter([
            case when vehicle_items is not null then 'vehicle' end,
            case when business_items is not null then 'business' end,
            case when property_count is not null then 'property' end,
            case when assets_yuan is not null then 'assets' end,
            case when income_detail is not null then 'income' end], x -> x is not null),
        'vehicles', vehicle_items, 'businesses', business_items,
        'property_count', property_count, 'property_count_before', property_count_before,
        'assets_yuan', assets_yuan, 'assets_per_capita_yuan', round(assets_per_capita_yuan, 2), 'assets_as_of', assets_as_of,
        'income_detail', income_detail, 'min_per_capita_yuan', round(min_per_capita_yuan, 2),
        'applicable_line_yuan', round(line_yuan, 2), 'dibao_std_yuan', dibao_std_yuan,
        'tekun_std_yuan', tekun_std_yuan, 'edge_multiplier', edge_multiplier
    ) as evidence,
    zh_household(head_name, hukou_no) || '（' || zh_category(category) || '）' || zh_month($period) || '：'
      || concat_ws('；',
            case when vehicle_items is not null then zh_person(vehicle_relation, vehicle_name, hukou_no) || '新登记' || zh_vehicle(vehicle_class) end,
            case when business_items is not null then zh_person(business_relation, business_name, hukou_no) || '新设'
                 || case when entity_type = 'company' then '公司' else '个体工商户' end
                 || '（注册资本 ' || zh_yuan(capital_yuan) || ' 元）' end,
            case when property_count is not null then '家庭登记住房由 ' || property_count_before || ' 套增至 ' || property_count || ' 套' end,
            case when assets_yuan is not null then '存款及有价证券合计 ' || zh_yuan(assets_yuan) || ' 元，人均 '
                 || zh_yuan(assets_per_capita_yuan) || ' 元，超过低保标准的 ' || $assets_std_multiple || ' 倍' end,
            case when income_detail is not null then '连续' || $income_months || '个月人均收入不低于 '
                 || zh_yuan(min_per_capita_yuan) || ' 元，超过' || zh_category(category) || '认定线 '
                 || zh_yuan(line_yuan) || ' 元的 ' || $income_line_multiple || ' 倍' end)
      || '，建议复核家庭经济状况'
        as explanation
from named
