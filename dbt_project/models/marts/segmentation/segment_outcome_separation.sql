{#- How much the segmentation of record separates outcomes: for each outcome, the AUROC of "the outcome rate of
    the patient's segment" as a ranking of who had it (0.5: segments say nothing about the outcome; 1: the
    outcome is confined to the segments with the highest rates), with the lowest and highest segment rates.
    Mann-Whitney, a tie (all members of a segment tie) counting one half. Outcomes: death within a year of
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

-- All members of a segment tie, so the Mann-Whitney sum needs only each segment's events and non-events:
-- segments in order of their rate, each event outranking the non-events of lower-rate segments and tying
-- (one half) with those of its own.
segment_counts as (
    select
        outcome,
        segment_name,
        count(*) filter (where is_event) as n_events,
        count(*) filter (where not is_event) as n_non_events,
        avg(is_event::integer) as segment_rate
    from outcome_observations
    group by outcome, segment_name
),

segment_pairs as (
    select
        *,
        coalesce(sum(n_non_events) over (
            partition by outcome order by segment_rate rows between unbounded preceding and 1 preceding
        ), 0) as n_non_events_below
    from segment_counts
),

outcome_ranks as (
    select
        outcome,
        sum(n_events + n_non_events) as n,
        sum(n_events) as n_positive,
        sum(n_events * (n_non_events_below + 0.5 * n_non_events)) as concordant_pairs,
        sum(n_events) * sum(n_non_events) as all_pairs
    from segment_pairs
    group by outcome
),

rate_ranges as (
    select outcome, min(segment_rate) as lowest_segment_rate, max(segment_rate) as highest_segment_rate
    from segment_counts
    group by outcome
)

select
    outcome_ranks.outcome::{{ dbt.type_string() }} as outcome,
    outcome_ranks.n::integer as n,
    outcome_ranks.n_positive::integer as n_positive,
    round(outcome_ranks.concordant_pairs / nullif(outcome_ranks.all_pairs, 0), 4)::double as segment_auroc,
    round(rate_ranges.lowest_segment_rate, 4)::double as lowest_segment_rate,
    round(rate_ranges.highest_segment_rate, 4)::double as highest_segment_rate
from outcome_ranks
inner join rate_ranges
    on outcome_ranks.outcome = rate_ranges.outcome
