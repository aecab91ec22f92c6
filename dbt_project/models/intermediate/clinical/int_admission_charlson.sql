{#- Charlson comorbidity index per admission, reproducing MIT-LCP mimic-code
    mimic-iv/concepts/comorbidity/charlson.sql (Quan et al. 2005, Med Care 43:1130; weights of Charlson 1987).
    Code ranges live in seed charlson_icd_prefixes, weights and hierarchy groups in charlson_conditions, the age
    score in charlson_age_scores. One flag column per condition of seed charlson_conditions, named as mimic-code
    names it (the contract in _clinical__models.yml lists them in mimic-code's order). -#}
{%- set charlson_conditions = seed_values('charlson_conditions', 'condition', order_by='condition_number') -%}

with admissions as (
    select subject_id, hadm_id, age_at_admission from {{ ref('int_admissions_enriched') }}
),

-- Not materialized: DuckDB would otherwise copy every diagnosis row once to read it twice, which costs more
-- than scanning the table twice.
diagnoses as {{ not_materialized() }} (
    select hadm_id, icd_code, icd_version from {{ ref('stg_mimic__diagnoses_icd') }}
),

charlson_prefixes as (
    select condition, icd_version, code_from, code_to from {{ ref('charlson_icd_prefixes') }}
),

charlson_weights as (
    select condition, weight, hierarchy_group from {{ ref('charlson_conditions') }}
),

age_scores as (
    select min_age, age_score from {{ ref('charlson_age_scores') }}
),

billed_codes as (
    select distinct icd_code, icd_version from diagnoses
),

code_conditions as (
    select billed_codes.icd_code, billed_codes.icd_version, charlson_prefixes.condition
    from billed_codes
    inner join charlson_prefixes
        on {{ icd_prefix_match('billed_codes.icd_code', 'billed_codes.icd_version', 'charlson_prefixes') }}
),

admission_conditions as (
    select distinct diagnoses.hadm_id, code_conditions.condition
    from diagnoses
    inner join code_conditions
        on diagnoses.icd_code = code_conditions.icd_code
        and diagnoses.icd_version = code_conditions.icd_version
),

condition_flags as (
    select
        hadm_id,
        {%- for condition in charlson_conditions %}
        max(condition = '{{ condition }}')::integer as {{ condition }}{{ ',' if not loop.last }}
        {%- endfor %}
    from admission_conditions
    group by hadm_id
),

-- Within a hierarchy group (mild/severe liver disease, diabetes without/with complications, any malignancy/
-- metastatic tumour) only the heaviest condition present counts; every other group holds one condition.
hierarchy_group_points as (
    select admission_conditions.hadm_id, max(charlson_weights.weight) as points
    from admission_conditions
    inner join charlson_weights
        on admission_conditions.condition = charlson_weights.condition
    group by admission_conditions.hadm_id, charlson_weights.hierarchy_group
),

comorbidity_points as (
    select hadm_id, sum(points) as points
    from hierarchy_group_points
    group by hadm_id
),

admission_age_scores as (
    select admissions.hadm_id, age_scores.age_score
    from admissions
    {{ asof_left_join('age_scores', 'admissions.age_at_admission', 'min_age') }}
)

select
    admissions.subject_id,
    admissions.hadm_id,
    admission_age_scores.age_score::integer as age_score,
    {%- for condition in charlson_conditions %}
    coalesce(condition_flags.{{ condition }}, 0) as {{ condition }},
    {%- endfor %}
    (admission_age_scores.age_score + coalesce(comorbidity_points.points, 0))::integer as charlson_comorbidity_index
from admissions
left join condition_flags
    on admissions.hadm_id = condition_flags.hadm_id
left join comorbidity_points
    on admissions.hadm_id = comorbidity_points.hadm_id
left join admission_age_scores
    on admissions.hadm_id = admission_age_scores.hadm_id
