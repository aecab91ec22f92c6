{#- Small-cell suppression for the aggregate marts of schema bi.

    A mart computes its raw counts in one CTE (one row per output row, `key` naming the row) and calls
    suppress_counts(), which emits CTEs ending in `suppressed_counts`: one row per key with every published count,
    NULL where suppressed, `suppressed_columns` listing them and `suppression_reasons` saying why each is hidden
    (suppression_reasons_text() below). `suppressed_cells` keeps the decision per cell. Raw counts never leave the
    model's CTEs.

    Cells and constraints. Every count of every row is a cell. A constraint is a set of cells tied by one
    equation, total = sum of parts, that a reader can form from published figures:
      - spec.partitions: within a row, a total and its parts (patients = female + male);
      - spec.differences: within a row, an unpublished count equal to a published total minus a published part
        (admissions without ICU care = admissions - ICU admissions). Anyone can compute it from the two, so it
        must not be a small count either;
      - row_partitions (partition_id, row_key, is_total): across rows, the rows of a partition add up to its total
        row (segments to all patients), count by count.

    The rule and the solver are in cell_suppression/solver.py (the SQL function suppress_cells(), registered by
    the dbt-duckdb plugin of profiles.yml, and on Spark by spark_engine.udfs): counts from 1 to min_cell_size - 1
    are hidden, and as few other cells as the greedy search finds so that no hidden small count can be worked out
    from the equations; spec.headline names the counts it hides last. A small count left recoverable fails the
    build. That none follows from the whole system of equations is checked by tests/test_marts.py.

    fixed_cells (row key, count name, is_suppressed) imports the decision already published for the same figure by
    another mart (fixed_source, e.g. segment sizes of segment_tier_matrix), so that one figure is shown or hidden
    alike everywhere; such cells are never picked here, and a hidden one is protected here as well.
    unpublished_cells (row key, count name) are cells of the equations that no mart of this build publishes (in
    segment_transitions, the previous build's sizes): unknown to the reader like a difference, protected only
    when small. `passes` caps how often one cell may change (a build that runs out fails rather than
    publish a recoverable cell). -#}

{% macro suppress_counts(group_counts, key, spec, row_partitions=none, fixed_cells=none, passes=1000,
                         fixed_source='another mart', unpublished_cells=none) %}
    {%- set min_cell_size = bi_min_cell_size() -%}
    {%- set published = spec.get('counts', []) -%}
    {%- set differences = spec.get('differences', []) -%}
    {%- set partitions = spec.get('partitions', []) -%}
    {%- set headline = spec.get('headline', []) -%}
    {%- set derived = differences | map(attribute=0) | list -%}
    {%- set row_relations = [] -%}
    {%- for name, total, part in differences -%}
        {%- do row_relations.append(('difference_' ~ name, [total, part, name])) -%}
    {%- endfor -%}
    {%- for total, parts in partitions -%}
        {%- do row_relations.append(('partition_' ~ total ~ '_' ~ loop.index, [total] + parts)) -%}
    {%- endfor -%}
suppression_counts_with_differences as (
    select
        {{ key }} as row_key,
        -- A group without any row in the data holds zero of everything.
        {%- for name in published %}
        coalesce({{ name }}, 0)::bigint as {{ name }}{{ ',' if not loop.last or differences }}
        {%- endfor %}
        {%- for name, total, part in differences %}
        (coalesce({{ total }}, 0) - coalesce({{ part }}, 0))::bigint as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ group_counts }}
),

suppression_unpublished_cells as (
    {%- if unpublished_cells is not none %}
    select row_key || ' | ' || count_name as cell_id from {{ unpublished_cells }}
    {%- else %}
    select null::{{ dbt.type_string() }} as cell_id where false
    {%- endif %}
),

suppression_cells as (
    select
        row_key,
        count_name,
        n,
        row_key || ' | ' || count_name as cell_id,
        count_name not in ({{ "'" ~ (derived | join("', '")) ~ "'" if derived else "''" }})
            and row_key || ' | ' || count_name not in (select cell_id from suppression_unpublished_cells)
            as is_published,
        count_name in ({{ "'" ~ (headline | join("', '")) ~ "'" if headline else "''" }}) as is_headline
    from suppression_counts_with_differences
    unpivot (n for count_name in ({{ (published + derived) | join(', ') }}))
),

suppression_fixed_cells as (
    {%- if fixed_cells is not none %}
    select row_key || ' | ' || count_name as cell_id, is_suppressed from {{ fixed_cells }}
    {%- else %}
    select null::{{ dbt.type_string() }} as cell_id, null::boolean as is_suppressed where false
    {%- endif %}
),

suppression_inputs as (
    select
        suppression_cells.cell_id,
        suppression_cells.n,
        suppression_cells.is_published,
        suppression_cells.is_headline,
        suppression_fixed_cells.is_suppressed as fixed_is_suppressed
    from suppression_cells
    left join suppression_fixed_cells
        on suppression_cells.cell_id = suppression_fixed_cells.cell_id
),

suppression_constraints as (
    {%- if row_relations %}
    select
        suppression_cells.row_key || ' | ' || relations.relation_name as constraint_id,
        suppression_cells.cell_id,
        relations.is_total
    from suppression_cells
    inner join (
        values
        {%- for relation_name, members in row_relations %}
        {%- set relation_loop = loop %}
        {%- for member in members %}
        ('{{ relation_name }}', '{{ member }}', {{ 'true' if loop.first else 'false' }})
            {{- ',' if not (relation_loop.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    ) as relations (relation_name, count_name, is_total)
        on suppression_cells.count_name = relations.count_name
    {%- else %}
    select null::{{ dbt.type_string() }} as constraint_id, null::{{ dbt.type_string() }} as cell_id, null::boolean as is_total where false
    {%- endif %}
    {%- if row_partitions is not none %}
    union all
    select
        partitions.partition_id || ' | ' || suppression_cells.count_name,
        suppression_cells.cell_id,
        partitions.is_total
    from suppression_cells
    inner join {{ row_partitions }} as partitions
        on suppression_cells.row_key = partitions.row_key
    {%- endif %}
),

-- The solver (cell_suppression/solver.py, the SQL function suppress_cells) over all cells of the mart at
-- once: one decision per cell. It fails the build when a small count would stay recoverable.
suppression_decisions as (
    select {{ unnest_structs(
        'suppress_cells((' ~ struct_list('suppression_inputs', ['cell_id', 'n', 'is_published', 'is_headline',
                                                                 'fixed_is_suppressed']) ~ '), ('
        ~ struct_list('suppression_constraints', ['constraint_id', 'cell_id', 'is_total']) ~ '), '
        ~ min_cell_size ~ ', ' ~ passes ~ ", '" ~ this ~ "')"
    ) }}
),

suppressed_cells as (
    select
        suppression_cells.row_key,
        suppression_cells.count_name,
        suppression_cells.n,
        suppression_decisions.is_suppressed,
        suppression_cells.is_published,
        case suppression_decisions.reason
            when 'protects' then 'protects_' || protected.count_name
            when 'fixed' then 'as_in_{{ fixed_source }}'
            else suppression_decisions.reason
        end as reason,
        protected.row_key as protects_row_key,
        protected.count_name as protects_column
    from suppression_decisions
    inner join suppression_cells
        on suppression_decisions.cell_id = suppression_cells.cell_id
    left join suppression_cells as protected
        on suppression_decisions.protects_cell_id = protected.cell_id
),

suppressed_counts as (
    select
        row_key,
        {%- for name in published %}
        max(n) filter (where count_name = '{{ name }}' and not is_suppressed) as {{ name }},
        {%- endfor %}
        -- Published columns only; derived cells are never shown.
        {{ string_agg_ordered('count_name', "', '", 'count_name') }} filter (where is_suppressed) as suppressed_columns,
        {{ string_agg_ordered(
            suppression_reason_text('count_name', 'reason', 'protects_row_key', 'protects_column', 'row_key',
                                    differences),
            "'; '", 'count_name'
        ) }} filter (where is_suppressed) as suppression_reasons
    from suppressed_cells
    group by row_key
)
{%- endmacro %}


{#- Why one hidden cell is hidden, in words a BI user can follow: 'n_x: below 11', 'n_x: protects n_y' (same
    row), 'n_x: protects n_y of <row>', where n_y may be an unpublished difference (spelt out). -#}
{% macro suppression_reason_text(count_name, reason, protects_row_key, protects_column, row_key, differences=[]) %}
    {{ count_name }} || ': ' || case
        when {{ reason }} = 'below_min_cell_size' then 'below_min_cell_size'
        when {{ reason }} like 'protects_%' then 'protects ' || {{ protects_column }}
            {%- if differences %}
            || case {{ protects_column }}
                {%- for name, total, part in differences %}
                when '{{ name }}' then ' (= {{ total }} - {{ part }})'
                {%- endfor %}
                else ''
            end
            {%- endif %}
            || case when {{ protects_row_key }} <> {{ row_key }} then ' of ' || {{ protects_row_key }} else '' end
        else {{ reason }}
    end
{%- endmacro %}
