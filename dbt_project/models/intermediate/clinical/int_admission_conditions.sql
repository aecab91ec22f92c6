-- Not materialized: DuckDB would otherwise copy every diagnosis row once to read it twice, which costs more
-- than scanning the table twice.
with diagnoses as {{ not_materialized() }} (
    select subject_id, hadm_id, seq_num, icd_code, icd_version from {{ ref('stg_mimic__diagnoses_icd') }}
),

condition_codes as (
    select condition, icd_version, code_from, code_to from {{ ref('chronic_condition_codes') }}
),

condition_catalog as (
    select condition, condition_family from {{ ref('chronic_conditions') }}
),

billed_codes as (
    select distinct icd_code, icd_version from diagnoses
),

code_conditions as (
    select distinct billed_codes.icd_code, billed_codes.icd_version, condition_codes.condition
    from billed_codes
    inner join condition_codes
        on {{ icd_prefix_match('billed_codes.icd_code', 'billed_codes.icd_version', 'condition_codes') }}
)

select
    diagnoses.subject_id,
    diagnoses.hadm_id,
    code_conditions.condition,
    condition_catalog.condition_family,
    count(*)::integer as n_diagnoses,
    bool_or(diagnoses.seq_num = 1) as is_principal_diagnosis
from diagnoses
inner join code_conditions
    on diagnoses.icd_code = code_conditions.icd_code
    and diagnoses.icd_version = code_conditions.icd_version
left join condition_catalog
    on code_conditions.condition = condition_catalog.condition
group by diagnoses.subject_id, diagnoses.hadm_id, code_conditions.condition, condition_catalog.condition_family
