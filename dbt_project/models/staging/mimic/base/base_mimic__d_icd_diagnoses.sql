select
    -- Same spelling as base_mimic__diagnoses_icd, so that every code is looked up the way it is billed.
    upper(replace(trim(icd_dictionary.icd_code), '.', ''))::{{ dbt.type_string() }} as icd_code,
    icd_dictionary.icd_version::integer as icd_version,
    icd_dictionary.long_title::{{ dbt.type_string() }} as long_title,
    {{ row_struct('icd_dictionary') }} as raw_row
from {{ source('mimiciv_hosp', 'd_icd_diagnoses') }} as icd_dictionary
