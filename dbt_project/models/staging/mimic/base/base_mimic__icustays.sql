select
    icu_stays.subject_id::integer as subject_id,
    icu_stays.hadm_id::integer as hadm_id,
    icu_stays.stay_id::integer as stay_id,
    icu_stays.first_careunit::{{ dbt.type_string() }} as first_careunit,
    icu_stays.last_careunit::{{ dbt.type_string() }} as last_careunit,
    icu_stays.intime::timestamp as intime,
    icu_stays.outtime::timestamp as outtime,
    icu_stays.los::double as los,
    {{ row_struct('icu_stays') }} as raw_row
from {{ source('mimiciv_icu', 'icustays') }} as icu_stays
