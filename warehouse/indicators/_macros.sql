-- Temporary macros the indicator models use to write their Chinese explanations.
-- Created per connection by pipelines/indicators.py before the models run.
create or replace temp macro zh_yuan(x) as format('{:,}', cast(round(x) as bigint));
create or replace temp macro zh_pct(x) as format('{}%', cast(round(100 * x) as bigint));
create or replace temp macro zh_times(x) as format('{:.1f}', x);
create or replace temp macro zh_month(p) as format('{}年{}月', cast(left(p, 4) as integer), cast(right(p, 2) as integer));
create or replace temp macro zh_date(d) as format('{}年{}月{}日', year(d), month(d), day(d));
create or replace temp macro zh_relation(r) as case r
    when 'head' then '户主' when 'spouse' then '配偶' when 'child' then '子女' when 'parent' then '父母'
    when 'grandchild' then '孙子女' when 'sibling' then '兄弟姐妹' else '家庭成员' end;
-- a person: 户主张三 when the roster knows the name, else 户号 xxx 的成员
create or replace temp macro zh_person(relation, name, hukou_no) as case
    when name is not null then zh_relation(relation) || name
    else '户号 ' || coalesce(hukou_no, '未知') || ' 的成员' end;
-- a household: 户主张三家 when the head's name is known, else 户号 xxx
create or replace temp macro zh_household(head_name, hukou_no) as case
    when head_name is not null then '户主' || head_name || '家'
    else '户号 ' || coalesce(hukou_no, '未知') end;
create or replace temp macro zh_category(c) as case c
    when 'dibao' then '低保' when 'tekun' then '特困' when 'edge' then '低保边缘'
    when 'expense_hardship' then '支出型困难' when 'relapse_watch' then '防止返贫监测'
    when 'other' then '其他困难' else '未在册' end;
create or replace temp macro zh_status(s) as case s
    when 'employed' then '在职' when 'flexible' then '灵活就业' when 'unemployed_registered' then '失业登记'
    when 'retired' then '退休' when 'none' then '无就业' else '无人社就业记录' end;
create or replace temp macro zh_stage(s) as case s
    when 'preschool' then '学前教育' when 'primary' then '小学' when 'junior' then '初中' when 'senior' then '高中'
    when 'vocational' then '中职' when 'college' then '大学' when 'graduate' then '研究生' else coalesce(s, '') end;
create or replace temp macro zh_disaster(t) as case t
    when 'flood' then '洪涝' when 'typhoon' then '台风' when 'earthquake' then '地震' when 'drought' then '干旱'
    when 'fire' then '火灾' when 'landslide' then '山体滑坡' else '自然' end;
create or replace temp macro zh_damage(d) as case d
    when 'collapsed' then '房屋倒塌' when 'severe' then '房屋严重损坏' when 'moderate' then '房屋一般损坏'
    else '房屋未受损' end;
create or replace temp macro zh_grade(g) as case g when 1 then '一级' when 2 then '二级' when 3 then '三级'
    when 4 then '四级' else cast(g as varchar) || '级' end;
create or replace temp macro zh_disability(t) as case t
    when 'visual' then '视力' when 'hearing' then '听力' when 'speech' then '言语' when 'physical' then '肢体'
    when 'intellectual' then '智力' when 'mental' then '精神' when 'multiple' then '多重' else coalesce(t, '') end;
create or replace temp macro zh_vehicle(v) as case v
    when 'car' then '小汽车' when 'truck' then '货车' when 'motorcycle' then '摩托车' when 'tricycle' then '三轮车'
    else '机动车' end;
-- per-city edge multiplier (temp table indicator_city_params, written per run from the rules)
create or replace temp macro edge_multiplier_for(city, default_multiplier) as
    coalesce((select p.edge_multiplier from indicator_city_params p where p.city_code = city), default_multiplier);

-- A household's income over the `n` data months ending at month index `end_idx` (months with known
-- income only): how many there are, the mean per-capita income, and the months themselves as evidence.
-- ELIG_DIBAO and ELIG_EDGE both read this window (the 主动发现 rules share one definition).
create or replace temp macro recent_per_capita(end_idx, n) as table
    select household_id, count(*) as months, avg(income_yuan / size) as per_capita_yuan,
           list_sort(list(struct_pack(period := period, income_yuan := income_yuan, size := size))) as detail
    from core.household_month
    where month_idx between end_idx - (n - 1) and end_idx and income_known and size > 0
    group by household_id;

-- --- income coverage (principle 5) and hardship signals: shared by the income rules ----------------

-- A household's income over the `n` data months ending at month index `end_idx`: the months it is
-- present, those with accepted coverage (verified / surveyed / full: the rule income is the income)
-- and their mean per-capita rule income, those with a loaded HRSS month and their mean per-capita
-- observed income (on partial coverage only a floor). The months as evidence: income_detail, for the
-- households a rule names (a list per household of a 1M province is most of the rule's time).
create or replace temp macro income_window(end_idx, n) as table
    select household_id,
           count(*) as months,
           count(*) filter (where income_coverage is not null and income_coverage <> 'partial'
                              and rule_income_yuan is not null) as accepted_months,
           count(*) filter (where income_known) as observed_months,
           avg(rule_income_yuan / size) filter (where income_coverage is not null and income_coverage <> 'partial'
                                                  and rule_income_yuan is not null) as rule_per_capita_yuan,
           avg(income_yuan / size) filter (where income_known) as observed_per_capita_yuan
    from core.household_month
    where month_idx between end_idx - (n - 1) and end_idx and size > 0
    group by household_id;
create or replace temp macro income_detail(end_idx, n, households) as table
    select household_id,
           list_sort(list(struct_pack(period := period, coverage := income_coverage, income_yuan := rule_income_yuan,
                                      observed_income_yuan := income_yuan, size := size))) as detail
    from core.household_month
    where month_idx between end_idx - (n - 1) and end_idx and size > 0
      and household_id in (select unnest(households))
    group by household_id;

-- Which signal a warning names when several share a date: the weightiest first.
create or replace temp macro signal_rank(kind) as case kind
    when 'death_working_age' then 8 when 'disaster_house_damage' then 7 when 'catastrophic_settlement' then 6
    when 'severe_disability_first_certificate' then 5 when 'became_unemployed' then 4 when 'grid_finding' then 3
    when 'medical_oop_3m' then 2 else 1 end;

-- The hardship signals of the `n` months ending at `end_idx` (core.hardship_signal), per household:
-- how many, the latest (its date, kind, person and detail) and the latest few as evidence.
create or replace temp macro signals_in_window(end_idx, n) as table
    select s.household_id,
           count(*) as signals,
           max(s.signal_date) as latest_signal_date,
           arg_max(s.kind, (s.signal_date, signal_rank(s.kind))) as latest_kind,
           arg_max(s.person_id, (s.signal_date, signal_rank(s.kind))) as latest_person_id,
           arg_max(s.detail, (s.signal_date, signal_rank(s.kind))) as latest_detail,
           list(struct_pack(signal_date := s.signal_date, kind := s.kind, person_id := s.person_id,
                            detail := s.detail) order by s.signal_date desc, s.kind)[1:5] as recent
    from core.hardship_signal s
    join core.month_calendar c using (period)
    where c.month_idx between end_idx - (n - 1) and end_idx
    group by s.household_id;

-- A signal in words: 2026年5月12日重特大疾病住院结算
create or replace temp macro zh_finding(f) as case f
    when 'illness' then '患病' when 'job_loss' then '失业' when 'disability' then '残疾'
    when 'house_damage' then '房屋受损' when 'death' then '成员去世' else coalesce(f, '') end;
create or replace temp macro zh_signal(kind, signal_date, detail) as case kind
    when 'became_unemployed' then zh_month(strftime(signal_date, '%Y-%m')) || '新登记失业'
    when 'medical_oop_3m' then '截至' || zh_date(signal_date) || '近3个月医疗自付累计 '
                               || zh_yuan(cast(json_extract_string(detail, '$.oop_3m_yuan') as double))
                               || ' 元，超过家庭人口×低保标准'
    else zh_date(signal_date) || case kind
        when 'catastrophic_settlement' then '重特大疾病医疗结算（自付 '
                                   || zh_yuan(cast(json_extract_string(detail, '$.oop_yuan') as double)) || ' 元）'
        when 'severe_disability_first_certificate' then '成员首次取得'
                                   || zh_grade(cast(json_extract_string(detail, '$.disability_grade') as integer)) || '残疾证'
        when 'death_working_age' then '劳动年龄成员去世（' || json_extract_string(detail, '$.age') || '岁）'
        when 'disaster_house_damage' then '受灾，' || zh_damage(json_extract_string(detail, '$.house_damage'))
        when 'grid_finding' then '网格走访发现'
                                   || array_to_string(list_transform(cast(json_extract(detail, '$.findings') as varchar[]),
                                                                     f -> zh_finding(f)), '、')
        when 'relapse_listing' then '纳入防止返贫监测'
        else coalesce(kind, '') end
    end;

-- Why a member's income is unknown, in words (core.member_income_month.reason)
create or replace temp macro zh_unknown_reason(r) as case r
    when 'no_hrss_record' then '无人社记录' when 'status_none' then '人社登记为无就业'
    when 'small_pension' then '仅领小额养老金' when 'unemployed_no_benefit' then '失业未领失业金'
    when 'retired_no_pension' then '退休无养老金' when 'hrss_not_delivered' then '人社数据未到'
    else coalesce(r, '') end;

-- How the income of month `period` is known, in words (core.household_month / household_coverage_month)
create or replace temp macro zh_coverage(coverage, check_date, survey_year) as case coverage
    when 'verified' then '据' || zh_date(check_date) || '家庭经济状况核对'
    when 'surveyed' then '据防止返贫监测' || survey_year || '年收入调查及养老金记录'
    when 'full' then '家庭成员收入均有记录'
    else '收入部分未知' end;

-- The eligibility model's gate for month `p` (core.eligibility_month): whether the model scored the
-- month at all, and each household's score.
create or replace temp macro model_scores(p) as table
    select household_id, probability, cutoff, model_version, top_features,
           probability >= cutoff as passes
    from core.eligibility_month where period = p;
create or replace temp macro model_active(p) as
    exists (select 1 from core.eligibility_month e where e.period = p);
-- the first three top features in words ("zh", else "feature", else the item itself)
create or replace temp macro zh_features(top) as array_to_string(list_transform(
    cast(json_extract(top, '$[*]') as json[])[1:3],
    f -> coalesce(json_extract_string(f, '$.label_zh'), json_extract_string(f, '$.zh'), json_extract_string(f, '$.feature'), json_extract_string(f, '$'))), '、');

-- What the feeds know of a household's assets (the EXIT_REVIEW asset tests, over a window): cars and
-- trucks registered or transferred in, and active businesses (a company, or an individual business
-- with capital >= `min_capital`) registered by a member between `d0` and `d1`; the members' property
-- count in the newest housing snapshot <= month `p` against the one in force at `p_first`; deposits +
-- securities in the bank snapshot covering `p`. These feeds cover roster persons; the economic checks
-- (core.household_coverage_month) know the assets of any household they checked.
create or replace temp macro asset_findings(p, p_first, d0, d1, vehicle_classes, vehicle_events, min_capital,
                                            households) as table
    with members as (
        -- the members of the `households` (a list of household ids) a rule judges
        select household_id, person_id from core.person_month
        where period = p and household_id in (select unnest(households))
    ),
    vehicles as (
        select m.household_id, min(v.event_date) as vehicle_date, arg_min(v.vehicle_class, v.event_date) as vehicle_class
        from (select distinct person_id, vehicle_class, event, event_date from staging.mps_vehicles
              where event_date between d0 and d1
                and list_contains(vehicle_classes, vehicle_class) and list_contains(vehicle_events, event)) v
        join members m using (person_id)
        group by m.household_id
    ),
    businesses as (
        select m.household_id, min(b.event_date) as business_date, arg_min(b.entity_type, b.event_date) as entity_type,
               arg_min(b.registered_capital_yuan, b.event_date) as capital_yuan
        from (select distinct credit_code, person_id, entity_type, registered_capital_yuan, event_date
              from staging.samr_business
              where event_date between d0 and d1 and status = 'active'
                and (entity_type = 'company' or (entity_type = 'individual' and registered_capital_yuan >= min_capital))) b
        join members m using (person_id)
        group by m.household_id
    ),
    housing_periods as (
        select (select max(period) from staging.mohurd_housing where period <= p) as now_period,
               coalesce((select max(period) from staging.mohurd_housing where period <= p_first),
                        (select min(period) from staging.mohurd_housing where period <= p)) as before_period
    ),
    properties as (
        select m.household_id, sum(n.property_count) as property_count, sum(b.property_count) as property_count_before
        from members m
        join staging.mohurd_housing n on n.person_id = m.person_id and n.period = (select now_period from housing_periods)
        join staging.mohurd_housing b on b.person_id = m.person_id and b.period = (select before_period from housing_periods)
        where (select now_period from housing_periods) > (select before_period from housing_periods)
        group by m.household_id
        having sum(n.property_count) > sum(b.property_count)
    ),
    bank as (
        select m.household_id, sum(coalesce(d.deposits_yuan, 0) + coalesce(d.securities_yuan, 0)) as bank_assets_yuan
        from members m
        join staging.bank_deposits d on d.person_id = m.person_id
         and d.delivery_id = (select delivery_id from core.feed_month
                              where feed_id = 'bank_deposits' and period = p and status = 'loaded')
        group by m.household_id
    )
    select coalesce(v.household_id, b.household_id, pr.household_id, k.household_id) as household_id,
           v.vehicle_date, v.vehicle_class, b.business_date, b.entity_type, b.capital_yuan,
           pr.property_count, pr.property_count_before, k.bank_assets_yuan
    from vehicles v
    full join businesses b using (household_id)
    full join properties pr using (household_id)
    full join bank k using (household_id);

-- The 主动发现 rules (ELIG_DIBAO, ELIG_EDGE) in one place, for month `p` (index `end_idx`, last day
-- `p_end`), per household not in `excluded` categories and present in each of the `n` months:
--  path a: accepted coverage in every month -> per_capita_yuan = mean per-capita rule income;
--  path b: coverage of M partial, HRSS loaded in every month -> per_capita_yuan = mean per-capita
--          observed income (a floor), with a hardship signal in the `signal_months` months up to M that is later than
--          the latest above_edge check of the last 12 months (if any) -- judged only when the checks since
--          the signal are known: signal on or after `b_from`, the first day of the run of loaded checks
--          months ending at M (NULL: none; the indicator's path_feeds) --, and, when `model_gate` is on and
--          the model scored the month, the household's probability >= its cut-off;
--  both: no application check in the `application_days` days up to `p_end`, no asset red flag (the
--  EXIT_REVIEW tests over `asset_months` months: new car/truck, business, more property, deposits
--  per capita >= `assets_multiple` x 低保 standard; from the feeds or the latest economic check).
-- The models apply their line to per_capita_yuan (and say eligible = passes every condition).
create or replace temp macro income_eligibility(p, end_idx, p_end, n, excluded, signal_months, application_days,
                                                asset_months, vehicle_classes, vehicle_events, min_capital,
                                                assets_multiple, model_gate, b_from, max_line) as table
    with income as (select * from income_window(end_idx, n) where months = n),
    signals as (select * from signals_in_window(end_idx, signal_months)),
    households as (
        -- only households whose income is below `max_line` x the 低保 standard (the highest line the calling
        -- rule applies) on path (a), or on path (b) with a hardship signal: no other can fire, and the joins
        -- below need not carry them
        select h.*, c.application_date, c.above_edge_date, c.check_assets_yuan, c.check_vehicles, c.check_size,
               c.assets_check_id, c.assets_check_date, c.check_date as verified_check_date, c.watch_id
        from core.household_month h
        join income i using (household_id)
        left join core.household_coverage_month c using (period, household_id)
        where h.period = p and h.size > 0 and h.dibao_std_yuan is not null
          and (h.category is null or not list_contains(excluded, h.category))
          and ((i.accepted_months = n and i.rule_per_capita_yuan < max_line * h.dibao_std_yuan)
               or (i.observed_months = n and h.income_coverage = 'partial'
                   and i.observed_per_capita_yuan < max_line * h.dibao_std_yuan
                   and household_id in (select household_id from signals)))
    ),
    judged_ids as (select list(household_id) as ids from households),
    detail as (select * from income_detail(end_idx, n, (select ids from judged_ids))),
    assets as (
        select * from asset_findings(p, strftime(cast(p_end as date) - to_months(asset_months - 1), '%Y-%m'),
                                     cast(date_trunc('month', cast(p_end as date)) - to_months(asset_months - 1) as date),
                                     cast(p_end as date), vehicle_classes, vehicle_events, min_capital,
                                     (select ids from judged_ids))
    ),
    survey as (
        select w.watch_id, max(w.income_year) as income_year from staging.moa_relapse_watch w
        where w.period <= p group by w.watch_id
    ),
    unknown as (
        select household_id, count(*) filter (where not income_known) as unknown_members,
               list(distinct reason order by reason) filter (where not income_known) as unknown_reasons
        from core.member_income_month where period = p and household_id in (select household_id from households)
        group by household_id
    ),
    joined as (
        select h.*, i.months, i.accepted_months, i.observed_months, i.rule_per_capita_yuan, i.observed_per_capita_yuan,
               d.detail,
               i.accepted_months = n as known_income,
               s.signals, s.latest_signal_date, s.latest_kind, s.latest_person_id, s.latest_detail, s.recent,
               a.vehicle_date, a.vehicle_class, a.business_date, a.entity_type, a.capital_yuan,
               a.property_count, a.property_count_before, a.bank_assets_yuan,
               sv.income_year as survey_year,
               u.unknown_members, u.unknown_reasons,
               m.probability, m.cutoff, m.model_version, m.top_features, m.passes as model_passes,
               model_gate and model_active(p) as model_applied
        from households h
        join income i using (household_id)
        left join detail d using (household_id)
        left join signals s using (household_id)
        left join assets a using (household_id)
        left join survey sv on sv.watch_id = h.watch_id
        left join unknown u using (household_id)
        left join model_scores(p) m using (household_id)
        where i.months = n
    ),
    judged as (
        select *,
               case when known_income then 'a' when observed_months = n and income_coverage = 'partial' then 'b' end
                   as path,
               case when known_income then rule_per_capita_yuan
                    when observed_months = n and income_coverage = 'partial' then observed_per_capita_yuan end
                   as per_capita_yuan,
               list_filter([
                   case when vehicle_date is not null then 'vehicle' end,
                   case when business_date is not null then 'business' end,
                   case when property_count is not null then 'property' end,
                   case when bank_assets_yuan / size >= assets_multiple * dibao_std_yuan then 'deposits' end,
                   case when check_assets_yuan / greatest(coalesce(check_size, size), 1) >= assets_multiple * dibao_std_yuan
                        then 'check_assets' end,
                   case when check_vehicles > 0 then 'check_vehicles' end], x -> x is not null) as asset_flags,
               application_date is not null and application_date > cast(p_end as date) - to_days(application_days)
                   as in_application
        from joined
    )
    select *,
           not in_application and len(asset_flags) = 0
             and (path = 'a'
                  or (path = 'b' and coalesce(signals, 0) > 0
                      -- the checks since the signal must be known: b_from = first day of the run of
                      -- loaded checks months ending at M (NULL: not loaded for M, or before the feed)
                      and b_from is not null and latest_signal_date >= cast(b_from as date)
                      and (above_edge_date is null or latest_signal_date > above_edge_date)
                      and (not model_applied or coalesce(model_passes, false)))) as eligible
    from judged;

-- 防止返贫监测 risk types (moa_relapse_watch.risk_types codes) in words
create or replace temp macro zh_risk(r) as case r
    when 'illness' then '因病' when 'disability' then '因残' when 'education' then '因学' when 'disaster' then '因灾'
    when 'accident' then '因意外' when 'unemployment' then '因失业' when 'business_failure' then '产业失败'
    when 'other' then '其他' else coalesce(r, '') end;
