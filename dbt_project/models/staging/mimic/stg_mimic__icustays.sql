-- The valid rows of base_mimic__icustays; every other raw row is in data_quality.raw_row_rejects.
select
    subject_id,
    hadm_id,
    stay_id,
    first_careunit,
    last_careunit,
    intime,
    outtime,
    los
from {{ ref('validated_mimic__icustays') }}
where reject_reason is null
