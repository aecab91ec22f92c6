{#- Each patient's segment and risk tier through the builds (type-2 history): a new version whenever either
    changes, dated by the snapshot time of the build that saw the change; a patient gone from the population is
    closed (dbt_valid_to) in the build that no longer has them. -#}
{% snapshot patient_segment_history %}
    {{ config(
        unique_key='subject_id',
        strategy='check',
        check_cols=['segment_name', 'risk_tier'],
        updated_at='snapshot_at',
        hard_deletes='invalidate',
    ) }}

    select
        subject_id,
        segment_name,
        risk_tier,
        '{{ invocation_id }}' as build_id,
        {{ snapshot_get_time() }} as snapshot_at
    from {{ ref('patient_summary') }}
{% endsnapshot %}
