{{ risk_component_scores(
    inputs=ref('int_patient_risk_inputs'),
    keys=['subject_id'],
    age='age_at_last_admission',
    complexity_items=var('risk_clinical_complexity_items'),
    age_scale=var('risk_age_scale')
) }}
