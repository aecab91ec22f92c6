-- The valid rows of base_mimic__diagnoses_icd (codes already normalized there); every other raw row is in
-- data_quality.raw_row_rejects.
select
    subject_id,
    hadm_id,
    seq_num,
    icd_code,
    icd_version
from {{ ref('validated_mimic__diagnoses_icd') }}
where reject_reason is null
