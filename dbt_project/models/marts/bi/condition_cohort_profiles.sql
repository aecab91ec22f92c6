{#- Condition cohorts (seed condition_cohorts) split into sub-segments along the cohort's clinical axis and by
    utilization, each with a profile: size, sex, age, burden, utilization and outcome KPIs (definitions in
    macros/bi_utilization.sql) and estimated cost. -#}
{%- set high_utilization = bi_number_var('cohort_high_utilization_min_emergency_admissions', minimum=1, whole=true) -%}
{%- set utilization = utilization_count_spec() -%}
{%- set all_sub_segments = 'All' -%}

with patients as (
    select * from {{ ref('patient_summary') }}
),

patient_conditions as (
    select subject_id, condition from {{ ref('patient_conditions') }}
),

cohort_conditions as (
    select cohort, cohort_label, condition, min_other_conditions, sub_segment_axis
    from {{ ref('condition_cohorts') }}
),

cohorts as (
    select distinct cohort, cohort_label, min_other_conditions, sub_segment_axis from cohort_conditions
),

-- The two sides of each clinical axis, and of utilization, as shown in BI tools.
axis_groups as (
    select * from (
        values
        ('complications', true, 'With complications'),
        ('complications', false, 'Without complications'),
        ('acuity', true, 'ICU care'),
        ('acuity', false, 'No ICU care'),
        ('comorbidity', true, 'Two or more other conditions'),
        ('comorbidity', false, 'One other condition')
    ) as axis_values (sub_segment_axis, is_on_axis, clinical_group)  -- noqa: AL05
),

utilization_groups as (
    select * from (
        values (true, 'High utilization'), (false, 'Low utilization')
    ) as utilization_values (is_high_utilization, utilization_group)  -- noqa: AL05
),

patient_cohort_conditions as (
    select patient_conditions.subject_id, cohort_conditions.cohort, count(*) as n_cohort_conditions
    from patient_conditions
    inner join cohort_conditions
        on patient_conditions.condition = cohort_conditions.condition
    group by patient_conditions.subject_id, cohort_conditions.cohort
),

cohort_members as (
    select
        patient_cohort_conditions.cohort,
        patients.subject_id,
        case cohorts.sub_segment_axis
            when 'complications' then patients.has_diabetes_complications
            when 'acuity' then patients.n_icu_stays > 0
            when 'comorbidity'
                then patients.n_chronic_conditions - patient_cohort_conditions.n_cohort_conditions >= 2
        end as is_on_axis,
        patients.n_emergency_admissions >= {{ high_utilization }} as is_high_utilization
    from patient_cohort_conditions
    inner join cohorts
        on patient_cohort_conditions.cohort = cohorts.cohort
    inner join patients
        on patient_cohort_conditions.subject_id = patients.subject_id
    where patients.n_chronic_conditions - patient_cohort_conditions.n_cohort_conditions
        >= cohorts.min_other_conditions
),

-- Every sub-segment of every cohort, even an empty one, and the cohort as a whole.
cohort_rows as (
    select
        cohorts.cohort,
        cohorts.cohort_label,
        axis_groups.is_on_axis,
        utilization_groups.is_high_utilization,
        axis_groups.clinical_group,
        utilization_groups.utilization_group,
        axis_groups.clinical_group || ', ' || lower(utilization_groups.utilization_group) as sub_segment
    from cohorts
    inner join axis_groups
        on cohorts.sub_segment_axis = axis_groups.sub_segment_axis
    cross join utilization_groups
    union all
    select cohort, cohort_label, null, null, null, null, '{{ all_sub_segments }}' from cohorts
),

row_members as (
    select cohort_rows.cohort, cohort_rows.sub_segment, cohort_members.subject_id
    from cohort_rows
    inner join cohort_members
        on cohort_rows.cohort = cohort_members.cohort
        and (cohort_rows.sub_segment = '{{ all_sub_segments }}'
            or (cohort_rows.is_on_axis = cohort_members.is_on_axis
                and cohort_rows.is_high_utilization = cohort_members.is_high_utilization))
),

member_counts as (
    select
        row_members.cohort,
        row_members.sub_segment,
        {{ utilization_count_aggregates('patients') }},
        count(*) filter (where patients.gender = 'F') as n_female,
        count(*) filter (where patients.gender = 'M') as n_male,
        avg(patients.age_at_last_admission) as avg_age,
        avg(patients.n_chronic_conditions) as avg_chronic_conditions,
        avg(patients.charlson_max) as avg_charlson_max,
        avg(patients.risk_score::decimal(18, 6)) as avg_risk_score,
        avg(patients.annual_cost_usd::decimal(18, 2)) as avg_annual_cost_usd,
        sum(patients.annual_cost_usd::decimal(18, 2)) as total_annual_cost_usd
    from row_members
    inner join patients
        on row_members.subject_id = patients.subject_id
    group by row_members.cohort, row_members.sub_segment
),

group_counts as (
    select
        cohort_rows.*,
        cohort_rows.cohort || ' | ' || cohort_rows.sub_segment as row_key,
        member_counts.* {{ star_exclude() }} (cohort, sub_segment)  -- noqa: RF02
    from cohort_rows
    left join member_counts
        on cohort_rows.cohort = member_counts.cohort
        and cohort_rows.sub_segment = member_counts.sub_segment
),

-- The sub-segments of a cohort add up to the cohort, count by count.
row_partitions as (
    select cohort as partition_id, row_key, sub_segment = '{{ all_sub_segments }}' as is_total
    from group_counts
),

{{ suppress_counts('group_counts', 'row_key', {
    'counts': utilization.counts + ['n_female', 'n_male'],
    'differences': utilization.differences,
    'partitions': [('n_patients', ['n_female', 'n_male'])],
    'headline': utilization.headline,
}, row_partitions='row_partitions') }}

select
    group_counts.cohort::{{ dbt.type_string() }} as cohort,
    group_counts.cohort_label::{{ dbt.type_string() }} as cohort_label,
    group_counts.sub_segment::{{ dbt.type_string() }} as sub_segment,
    group_counts.clinical_group::{{ dbt.type_string() }} as clinical_group,
    group_counts.utilization_group::{{ dbt.type_string() }} as utilization_group,
    {{ utilization_columns('suppressed_counts', 'group_counts') }},
    {{ bi_round('suppressed_counts.n_patients / nullif(cohort_totals.n_patients, 0)', 'proportion') }}
        as share_of_cohort,
    suppressed_counts.n_female::bigint as n_female,
    suppressed_counts.n_male::bigint as n_male,
    {{ bi_round('suppressed_counts.n_female / nullif(suppressed_counts.n_patients, 0)', 'proportion') }}
        as share_female,
    -- Averages and costs describe the group only while its size is shown.
    {%- for average, kind in [('avg_age', 'mean'), ('avg_chronic_conditions', 'mean'),
                              ('avg_charlson_max', 'mean'), ('avg_risk_score', 'score'),
                              ('avg_annual_cost_usd', 'usd'), ('total_annual_cost_usd', 'usd')] %}
    {{ bi_round('case when suppressed_counts.n_patients is not null then group_counts.' ~ average ~ ' end',
                kind) }} as {{ average }},
    {%- endfor %}
    (suppressed_counts.suppressed_columns is not null)::boolean as is_suppressed,
    suppressed_counts.suppressed_columns::{{ dbt.type_string() }} as suppressed_columns,
    suppressed_counts.suppression_reasons::{{ dbt.type_string() }} as suppression_reasons
from group_counts
inner join suppressed_counts
    on group_counts.row_key = suppressed_counts.row_key
inner join group_counts as cohort_total_rows
    on group_counts.cohort = cohort_total_rows.cohort
    and cohort_total_rows.sub_segment = '{{ all_sub_segments }}'
inner join suppressed_counts as cohort_totals
    on cohort_total_rows.row_key = cohort_totals.row_key
