{#- One row per build that snapshotted the segments, taken after patient_segment_history: its snapshot_at is
    later than every change that build wrote, so the state of the population at a build is the history rows
    valid at that build's snapshot_at. -#}
{% snapshot segment_build_log %}
    {{ config(
        unique_key='build_id',
        strategy='timestamp',
        updated_at='snapshot_at',
    ) }}

    select
        '{{ invocation_id }}' as build_id,
        {{ snapshot_get_time() }} as snapshot_at,
        count(*) as n_patients
    from {{ ref('patient_segment_history') }}
    where dbt_valid_to is null
{% endsnapshot %}
