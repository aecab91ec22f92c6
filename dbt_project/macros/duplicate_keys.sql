{#- Every row of `rows` (a CTE of a raw table's rows with their raw_row struct) with key_row_number and key_rank
    within its key, the body of a CTE of the validated_mimic__ models. Only rows of a duplicated key are ranked:
    the first in the order of all their columns (so that the choice never depends on file order) has
    key_row_number 1; rows equal to it in every column share its key_rank of 1. Every other row has 1 and 1.
    `key` is the raw table's key (raw_tables()); duplicates are looked for by `shared_by` (default: the key), a
    cheaper subset of its columns when grouping by the whole key costs more than ranking a few rows too many. -#}
{% macro rank_duplicate_keys(rows, key, shared_by=none) %}
    {%- set shared_by = shared_by or key -%}
    with duplicated_keys as (
        select {{ shared_by | join(', ') }}
        from {{ rows }}
        group by {{ shared_by | join(', ') }}
        having count(*) > 1
    )

    select {{ rows }}.*, 1 as key_row_number, 1 as key_rank
    from {{ rows }}
    anti join duplicated_keys using ({{ shared_by | join(', ') }})
    union all
    select {{ rows }}.*, row_number() over same_key, rank() over same_key
    from {{ rows }}
    semi join duplicated_keys using ({{ shared_by | join(', ') }})
    window same_key as (partition by {{ key | join(', ') }} order by raw_row)
{% endmacro %}
