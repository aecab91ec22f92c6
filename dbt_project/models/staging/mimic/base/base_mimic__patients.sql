select
    patients.subject_id::integer as subject_id,
    patients.gender::{{ dbt.type_string() }} as gender,
    patients.anchor_age::integer as anchor_age,
    patients.anchor_year::integer as anchor_year,
    patients.anchor_year_group::{{ dbt.type_string() }} as anchor_year_group,
    patients.dod::date as dod,
    {{ row_struct('patients') }} as raw_row
from {{ source('mimiciv_hosp', 'patients') }} as patients
