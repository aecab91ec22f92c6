{#- Elixhauser comorbidities coded in an admission, before the hierarchy rules.
    ICD-9-CM: the "enhanced ICD-9-CM" coding algorithm of Quan et al. 2005 (Med Care 43:1130), as MIT-LCP
    mimic-code's mimic-iii/concepts/comorbidity/elixhauser_quan.sql implements it. ICD-10-CM: AHRQ's Elixhauser
    Comorbidity Software, ICD-10-CM release 2019.1 (elix_comformat_icd10cm_2019_1; seeds elixhauser_icd9_codes and elixhauser_icd10_codes), whose hypertension groups set
    complicated hypertension and, for some, heart and renal failure (seed elixhauser_groups). Both read only the
    secondary diagnoses: the principal diagnosis (seq_num 1) is why the patient was admitted, not a condition
    they brought with them. AHRQ's screen that drops a comorbidity when the stay's DRG treats it is not applied:
    the raw tables carry no DRG. -#}
with diagnoses as (
    select subject_id, hadm_id, icd_code, icd_version
    from {{ ref('stg_mimic__diagnoses_icd') }}
    where seq_num > 1
),

elixhauser_codes as (
    select 9 as icd_version, code_prefix, comorbidity_group from {{ ref('elixhauser_icd9_codes') }}
    union all
    select 10 as icd_version, code_prefix, comorbidity_group from {{ ref('elixhauser_icd10_codes') }}
),

elixhauser_groups as (
    select comorbidity_group, comorbidity from {{ ref('elixhauser_groups') }}
),

billed_codes as (
    select distinct icd_code, icd_version from diagnoses
),

-- A listed code stands for itself and every code below it: a code that a later ICD-10-CM release split (the
-- 2019 leaf G20, Parkinson's disease, became G20A1 and others) keeps the comorbidity of the code it came from.
-- Prefix lengths run from 3 (ICD-9 '428', ICD-10 'B20') to ICD-10's 7 characters; matching on equal prefixes
-- keeps the join an equi-join over the distinct codes.
prefix_lengths as (
    select 3 as prefix_length
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
),

billed_code_prefixes as (
    select
        billed_codes.icd_code,
        billed_codes.icd_version,
        substr(billed_codes.icd_code, 1, prefix_lengths.prefix_length) as code_prefix
    from billed_codes
    inner join prefix_lengths
        on length(billed_codes.icd_code) >= prefix_lengths.prefix_length
),

code_comorbidities as (
    select distinct billed_code_prefixes.icd_code, billed_code_prefixes.icd_version, elixhauser_groups.comorbidity
    from billed_code_prefixes
    inner join elixhauser_codes
        on billed_code_prefixes.icd_version = elixhauser_codes.icd_version
        and billed_code_prefixes.code_prefix = elixhauser_codes.code_prefix
    inner join elixhauser_groups
        on elixhauser_codes.comorbidity_group = elixhauser_groups.comorbidity_group
),

admission_comorbidities as (
    select distinct diagnoses.subject_id, diagnoses.hadm_id, code_comorbidities.comorbidity
    from diagnoses
    inner join code_comorbidities
        on diagnoses.icd_code = code_comorbidities.icd_code
        and diagnoses.icd_version = code_comorbidities.icd_version
)

select * from admission_comorbidities
