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
