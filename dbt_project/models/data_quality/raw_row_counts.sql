select 'mimiciv_hosp.patients' as source_table, count(*) as raw_rows
from {{ source('mimiciv_hosp', 'patients') }}
union all
select 'mimiciv_hosp.admissions', count(*) from {{ source('mimiciv_hosp', 'admissions') }}
union all
select 'mimiciv_hosp.diagnoses_icd', count(*) from {{ source('mimiciv_hosp', 'diagnoses_icd') }}
union all
select 'mimiciv_hosp.d_icd_diagnoses', count(*) from {{ source('mimiciv_hosp', 'd_icd_diagnoses') }}
union all
select 'mimiciv_icu.icustays', count(*) from {{ source('mimiciv_icu', 'icustays') }}
