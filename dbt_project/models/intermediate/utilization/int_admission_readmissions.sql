with admissions as (
    select subject_id, hadm_id, admittime, dischtime, hospital_expire_flag
    from {{ ref('int_admissions_enriched') }}
),

admissions_with_prior_discharge as (
    select
        *,
        -- The latest discharge among the patient's earlier admissions, so that an admission nested inside a
        -- longer one does not end the episode early.
        max(dischtime) over (
            partition by subject_id order by admittime, hadm_id
            rows between unbounded preceding and 1 preceding
        ) as prior_max_dischtime
    from admissions
),

episode_boundaries as (
    select
        *,
        prior_max_dischtime is null
            or (admittime > prior_max_dischtime and admittime::date <> prior_max_dischtime::date)
            as starts_episode
    from admissions_with_prior_discharge
),

admission_episodes as (
    select
        *,
        sum(starts_episode::integer) over (
            partition by subject_id order by admittime, hadm_id rows unbounded preceding
        )::integer as episode_seq
    from episode_boundaries
),

episodes as (
    select
        subject_id,
        episode_seq,
        min(admittime) as episode_admittime,
        max(dischtime) as episode_dischtime,
        coalesce(bool_or(hospital_expire_flag = 1), false) as episode_ended_in_death
    from admission_episodes
    group by subject_id, episode_seq
),

episodes_with_next as (
    select
        *,
        not episode_ended_in_death as is_index_episode,
        lead(episode_admittime) over (partition by subject_id order by episode_seq) as next_episode_admittime
    from episodes
)

select
    admission_episodes.subject_id,
    admission_episodes.hadm_id,
    admission_episodes.admittime,
    admission_episodes.dischtime,
    admission_episodes.episode_seq,
    admission_episodes.starts_episode as is_episode_start,
    episodes_with_next.episode_admittime,
    episodes_with_next.episode_dischtime,
    episodes_with_next.episode_ended_in_death,
    episodes_with_next.is_index_episode,
    episodes_with_next.next_episode_admittime,
    {{ seconds_between('episodes_with_next.episode_dischtime', 'episodes_with_next.next_episode_admittime') }} / 86400.0
        as days_to_next_episode,
    {%- for window_days in [30, 60, 90] %}
    case
        when episodes_with_next.is_index_episode
            then coalesce(
                episodes_with_next.next_episode_admittime
                    <= episodes_with_next.episode_dischtime + interval {{ window_days }} day,
                false
            )
    end as readmitted_{{ window_days }}d{{ ',' if not loop.last }}
    {%- endfor %}
from admission_episodes
inner join episodes_with_next
    on admission_episodes.subject_id = episodes_with_next.subject_id
    and admission_episodes.episode_seq = episodes_with_next.episode_seq
