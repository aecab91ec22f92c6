{#- Warns when raw rows were rejected, and lists the counts per table and reason in the build output.
    model: one row per source_table and reject_reason with its rejected_rows (data_quality.reject_summary).
    The warning's count is the number of rejected rows. -#}
{% test no_rejected_rows(model) %}
    {{ config(severity='warn', fail_calc='coalesce(sum(rejected_rows), 0)') }}
    {%- if execute and load_relation(model) is not none %}
        {%- set listing = run_query(
            "select source_table, reject_reason, rejected_rows from " ~ model
            ~ " order by source_table, rejected_rows desc, reject_reason") %}
        {%- for row in listing.rows %}
            {%- do log("rejected raw rows: " ~ row[0] ~ " " ~ row[1] ~ " " ~ row[2], info=True) %}
        {%- endfor %}
    {%- endif %}
    select source_table, reject_reason, rejected_rows
    from {{ model }}
{% endtest %}
