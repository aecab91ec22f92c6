select
    admissions.subject_id::integer as subject_id,
    admissions.hadm_id::integer as hadm_id,
    admissions.admittime::timestamp as admittime,
    admissions.dischtime::timestamp as dischtime,
    admissions.deathtime::timestamp as deathtime,
    admissions.admission_type::{{ dbt.type_string() }} as admission_type,
    admissions.admit_provider_id::{{ dbt.type_string() }} as admit_provider_id,
    admissions.admission_location::{{ dbt.type_string() }} as admission_location,
    admissions.discharge_location::{{ dbt.type_string() }} as discharge_location,
    admissions.insurance::{{ dbt.type_string() }} as insurance,
    admissions.language::{{ dbt.type_string() }} as language,
    admissions.marital_status::{{ dbt.type_string() }} as marital_status,
    admissions.race::{{ dbt.type_string() }} as race,
    admissions.edregtime::timestamp as edregtime,
    admissions.edouttime::timestamp as edouttime,
    admissions.hospital_expire_flag::integer as hospital_expire_flag,
    {{ row_struct('admissions') }} as raw_row
from {{ source('mimiciv_hosp', 'admissions') }} as admissions
