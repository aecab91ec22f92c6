{{ risk_patient_inputs('all_admissions') }}
