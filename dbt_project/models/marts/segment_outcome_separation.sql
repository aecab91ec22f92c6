{#- How much the segmentation of record separates outcomes: for each outcome, the AUROC of "the outcome rate of
    the patient's segment" as a ranking of who had it (0.5: segments say nothing about the outcome; 1: the
    outcome is confined to the segments with the highest rates), with the lowest and highest segment rates.
    Mann-Whitney with average ranks for ties (all members of a segment tie). Outcomes: death within a year of
    the last discharge (patients with an admission) and readmission within 30 days of a survived discharge
    (the index discharges of int_risk_validation_observations, censored ones left out). Descriptive: the
    segments were formed from the same history, so this is not a prospective validation. -#}
with segments as (
    select subject_id, segment_name from {{ ref('patient_segments') }}
),

features as (
    select subject_id, n_admissions, died_within_1y from {{ ref('patient_features') }}
),

index_discharges as (
    select subject_id, readmitted_30d from {{ ref('int_risk_validation_observations') }}
    where readmitted_30d is not null
),

outcome_observations as (
    select 'died_within_1y' as outcome, segments.segment_name, features.died_within_1y as is_event
    from features
    inner join segments
        on features.subject_id = segments.subject_id
    where features.n_admissions > 0
    union all
    select 'readmitted_30d', segments.segment_name, index_discharges.readmitted_30d
    from index_discharges
    inner join segments
        on index_discharges.subject_id = segments.subject_id
),

segment_rates as (
    select outcome, segment_name, avg(is_event::integer) as segment_rate
    from outcome_observations
    group by outcome, segment_name
),

ranked_observations as (
    select
        outcome_observations.outcome,
        outcome_observations.is_event,
        rank() over (partition by outcome_observations.outcome order by segment_rates.segment_rate)
            + (count(*) over (partition by outcome_observations.outcome, segment_rates.segment_rate) - 1) / 2.0
            as rate_rank
    from outcome_observations
    inner join segment_rates
        on outcome_observations.outcome = segment_rates.outcome
        and outcome_observations.segment_name = segment_rates.segment_name
),

outcome_ranks as (
    select
        outcome,
        count(*) as n,
        count(*) filter (where is_event) as n_positive,
        sum(rate_rank) filter (where is_event) as positive_rank_sum
    from ranked_observations
    group by outcome
),

rate_ranges as (
    select outcome, min(segment_rate) as lowest_segment_rate, max(segment_rate) as highest_segment_rate
    from segment_rates
    group by outcome
)

select
    outcome_ranks.outcome::varchar as outcome,
    outcome_ranks.n::integer as n,
    outcome_ranks.n_positive::integer as n_positive,
    round(
        (outcome_ranks.positive_rank_sum - outcome_ranks.n_positive * (outcome_ranks.n_positive + 1) / 2.0)
        / nullif(outcome_ranks.n_positive * (outcome_ranks.n - outcome_ranks.n_positive), 0),
        4)::double as segment_auroc,
    round(rate_ranges.lowest_segment_rate, 4)::double as lowest_segment_rate,
    round(rate_ranges.highest_segment_rate, 4)::double as highest_segment_rate
from outcome_ranks
inner join rate_ranges
    on outcome_ranks.outcome = rate_ranges.outcome
