{#- The inputs of the risk score as known at each discharge: from that admission and the patient's earlier ones
    (in admittime, hadm_id order), never from later ones, so that a score can be validated against what happened
    after the discharge (int_risk_validation_observations) and the patient's current score is the one of their
    last admission (int_patient_risk_inputs). Running totals over the patient's admissions, no self-join.
    Each "1 - prod(1 - w)" union is kept as a running sum of ln(1 - w), since weights stay below 1. -#}
with admissions as {{ not_materialized() }} (
    select
        subject_id, hadm_id, admittime, is_emergency, age_at_admission, discharge_location, insurance, language,
        marital_status
    from {{ ref('int_admissions_enriched') }}
),

admission_charlson as (
    select hadm_id, age_score, charlson_comorbidity_index from {{ ref('int_admission_charlson') }}
),

admission_elixhauser as (
    select hadm_id, elixhauser_comorbidity_count from {{ ref('int_admission_elixhauser') }}
),

admission_icu as (
    select hadm_id, n_icu_stays from {{ ref('int_admission_icu') }}
),

admission_conditions as (
    select subject_id, hadm_id, condition, condition_family from {{ ref('int_admission_conditions') }}
),

admission_readmissions as (
    select subject_id, hadm_id, episode_seq, is_episode_start, readmitted_30d
    from {{ ref('int_admission_readmissions') }}
),

location_weights as (
    select upper(discharge_location) as discharge_location, functional_decline_weight
    from {{ ref('risk_discharge_location_weights') }}
),

condition_weights as (
    select condition, disease_severity_weight from {{ ref('risk_condition_weights') }}
),

-- An admission that starts an episode within 30 days of the previous episode's discharge is one 30-day
-- readmission (the episode definition of int_admission_readmissions: transfers are no readmissions).
episode_readmission_flags as (
    select subject_id, episode_seq, readmitted_30d
    from admission_readmissions
    where is_episode_start
),

readmission_starts as (
    select admission_readmissions.hadm_id
    from admission_readmissions
    inner join episode_readmission_flags as previous_episode
        on admission_readmissions.subject_id = previous_episode.subject_id
        and admission_readmissions.episode_seq = previous_episode.episode_seq + 1
    where admission_readmissions.is_episode_start
        and previous_episode.readmitted_30d
),

-- Each condition and family counts from the admission where the patient's history first shows it.
condition_first_admissions as (
    select
        admission_conditions.subject_id,
        admission_conditions.condition,
        admission_conditions.condition_family,
        {{ arg_min_by('admission_conditions.hadm_id', ['admissions.admittime', 'admissions.hadm_id']) }} as hadm_id,
        min(admissions.admittime) as admittime
    from admission_conditions
    inner join admissions
        on admission_conditions.hadm_id = admissions.hadm_id
    group by admission_conditions.subject_id, admission_conditions.condition, admission_conditions.condition_family
),

-- A family first shows with the first of its conditions.
family_first_admissions as (
    select subject_id, condition_family, {{ arg_min_by('hadm_id', ['admittime', 'hadm_id']) }} as hadm_id
    from condition_first_admissions
    group by subject_id, condition_family
),

new_conditions as (
    select
        condition_first_admissions.hadm_id,
        count(*) as n_new_conditions,
        sum(ln(1 - coalesce(
            condition_weights.disease_severity_weight,
            {{ error_function() }}('chronic condition ''' || condition_first_admissions.condition
                || ''' has no row in seeds/risk_condition_weights.csv')
        ))) as disease_log_complement
    from condition_first_admissions
    left join condition_weights
        on condition_first_admissions.condition = condition_weights.condition
    group by condition_first_admissions.hadm_id
),

new_families as (
    select hadm_id, count(*) as n_new_families
    from family_first_admissions
    group by hadm_id
),

admission_evidence as (
    select
        admissions.subject_id,
        admissions.hadm_id,
        admissions.admittime,
        admissions.is_emergency::integer as is_emergency,
        admissions.age_at_admission,
        admissions.insurance,
        admissions.language,
        admissions.marital_status,
        coalesce(admission_icu.n_icu_stays, 0) as n_icu_stays,
        (readmission_starts.hadm_id is not null)::integer as is_readmission_30d,
        coalesce(admission_charlson.charlson_comorbidity_index - admission_charlson.age_score, 0)
            as charlson_comorbidity_points,
        coalesce(admission_charlson.age_score, 0) as charlson_age_score,
        coalesce(admission_elixhauser.elixhauser_comorbidity_count, 0) as elixhauser_comorbidity_count,
        coalesce(new_conditions.n_new_conditions, 0) as n_new_conditions,
        coalesce(new_families.n_new_families, 0) as n_new_families,
        coalesce(new_conditions.disease_log_complement, 0) as disease_log_complement,
        ln(1 - coalesce(
            location_weights.functional_decline_weight,
            {{ error_function() }}('discharge_location ''' || coalesce(admissions.discharge_location, '(missing)')
                || ''' has no row in seeds/risk_discharge_location_weights.csv')
        )) as discharge_log_complement
    from admissions
    left join admission_icu
        on admissions.hadm_id = admission_icu.hadm_id
    left join admission_charlson
        on admissions.hadm_id = admission_charlson.hadm_id
    left join admission_elixhauser
        on admissions.hadm_id = admission_elixhauser.hadm_id
    left join readmission_starts
        on admissions.hadm_id = readmission_starts.hadm_id
    left join new_conditions
        on admissions.hadm_id = new_conditions.hadm_id
    left join new_families
        on admissions.hadm_id = new_families.hadm_id
    left join location_weights
        on upper(coalesce(admissions.discharge_location, '(missing)')) = location_weights.discharge_location
),

history_to_date as (
    select
        subject_id,
        hadm_id,
        age_at_admission,
        insurance,
        language,
        marital_status,
        count(*) over patient_history as n_admissions,
        -- Prior-year acute use is among the strongest readmission predictors (the HOSPITAL score, Donzé et al.,
        -- JAMA Intern Med 2013, counts admissions of the previous 12 months; LACE counts ED visits).
        sum(is_emergency) over (
            partition by subject_id order by admittime range between interval 365 day preceding and current row
        ) as n_emergency_admissions_12m,
        sum(n_icu_stays) over patient_history as n_icu_stays,
        sum(is_readmission_30d) over patient_history as n_readmissions_30d,
        max(charlson_comorbidity_points) over patient_history as charlson_comorbidity_points,
        charlson_age_score,
        max(elixhauser_comorbidity_count) over patient_history as elixhauser_comorbidity_count,
        sum(n_new_conditions) over patient_history as n_chronic_conditions,
        sum(n_new_families) over patient_history as n_chronic_families,
        1 - exp(sum(discharge_log_complement) over patient_history) as functional_decline_union,
        1 - exp(sum(disease_log_complement) over patient_history) as disease_specific_union
    from admission_evidence
    window patient_history as (
        partition by subject_id order by admittime, hadm_id rows between unbounded preceding and current row
    )
)

select
    subject_id,
    hadm_id,
    age_at_admission::integer as age_at_admission,
    -- Demographics are recorded at every admission (a NULL means MIMIC recorded none).
    true as has_admission,
    insurance,
    language,
    marital_status,
    n_admissions::integer as n_admissions,
    n_emergency_admissions_12m::integer as n_emergency_admissions_12m,
    n_icu_stays::integer as n_icu_stays,
    n_readmissions_30d::integer as n_readmissions_30d,
    charlson_comorbidity_points::integer as charlson_comorbidity_points,
    (charlson_comorbidity_points + charlson_age_score)::integer as charlson_index,
    elixhauser_comorbidity_count::integer as elixhauser_comorbidity_count,
    n_chronic_conditions::integer as n_chronic_conditions,
    n_chronic_families::integer as n_chronic_families,
    -- exp(ln(x)) returns x to within about 1e-16; rounding to 10 decimals makes the unions exact again.
    {{ round_double('functional_decline_union', 10) }}::double as functional_decline_union,
    {{ round_double('disease_specific_union', 10) }}::double as disease_specific_union
from history_to_date
