{{ risk_patient_inputs('before_last_admission') }}
