select
    diagnoses.subject_id::integer as subject_id,
    diagnoses.hadm_id::integer as hadm_id,
    diagnoses.seq_num::integer as seq_num,
    -- MIMIC stores codes without the dot in CHAR(7); files that passed through other tools may carry the dot,
    -- padding or lower case. One spelling makes dictionary lookups and prefix matching exact.
    upper(replace(trim(diagnoses.icd_code), '.', ''))::{{ dbt.type_string() }} as icd_code,
    diagnoses.icd_version::integer as icd_version,
    {{ row_struct('diagnoses') }} as raw_row
from {{ source('mimiciv_hosp', 'diagnoses_icd') }} as diagnoses
