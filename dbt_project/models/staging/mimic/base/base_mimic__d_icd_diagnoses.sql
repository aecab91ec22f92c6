select
    -- Same spelling as base_mimic__diagnoses_icd, so that every code is looked up the way it is billed.
    upper(replace(trim(icd_dictionary.icd_code), '.', ''))::varchar as icd_code,
    icd_dictionary.icd_version::integer as icd_version,
    icd_dictionary.long_title::varchar as long_title,
    icd_dictionary as raw_row
from {{ source('mimiciv_hosp', 'd_icd_diagnoses') }} as icd_dictionary
