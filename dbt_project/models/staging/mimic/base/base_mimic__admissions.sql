select
    admissions.subject_id::integer as subject_id,
    admissions.hadm_id::integer as hadm_id,
    admissions.admittime::timestamp as admittime,
    admissions.dischtime::timestamp as dischtime,
    admissions.deathtime::timestamp as deathtime,
    admissions.admission_type::varchar as admission_type,
    admissions.admit_provider_id::varchar as admit_provider_id,
    admissions.admission_location::varchar as admission_location,
    admissions.discharge_location::varchar as discharge_location,
    admissions.insurance::varchar as insurance,
    admissions.language::varchar as language,
    admissions.marital_status::varchar as marital_status,
    admissions.race::varchar as race,
    admissions.edregtime::timestamp as edregtime,
    admissions.edouttime::timestamp as edouttime,
    admissions.hospital_expire_flag::integer as hospital_expire_flag,
    admissions as raw_row
from {{ source('mimiciv_hosp', 'admissions') }} as admissions
