-- The valid rows of base_mimic__admissions; every other raw row is in data_quality.raw_row_rejects.
select
    subject_id,
    hadm_id,
    admittime,
    dischtime,
    deathtime,
    admission_type,
    admit_provider_id,
    admission_location,
    discharge_location,
    insurance,
    language,
    marital_status,
    race,
    edregtime,
    edouttime,
    hospital_expire_flag
from {{ ref('validated_mimic__admissions') }}
where reject_reason is null
