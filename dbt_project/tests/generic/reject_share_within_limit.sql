{#- Fails when more than var('max_reject_share') of a raw table's rows were rejected. Attached to the staging
    model of that table, so that a failure stops the models built on it (intermediate, marts) while the rejects
    themselves are still built and listed. validated_model holds the table's rejected rows (reject_reason set). -#}
{% test reject_share_within_limit(model, validated_model) %}
    with staged as (
        select count(*) as staged_rows from {{ model }}
    ),

    rejected as (
        select count(*) as rejected_rows from {{ validated_model }} where reject_reason is not null
    )

    select
        staged.staged_rows,
        rejected.rejected_rows,
        rejected.rejected_rows / (staged.staged_rows + rejected.rejected_rows) as reject_share,
        {{ var('max_reject_share') }} as max_reject_share
    from staged
    cross join rejected
    where rejected.rejected_rows > {{ var('max_reject_share') }} * (staged.staged_rows + rejected.rejected_rows)
{% endtest %}
