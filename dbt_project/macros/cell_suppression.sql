{#- Small-cell suppression for the aggregate marts of schema bi.

    A mart computes its raw counts in one CTE (one row per output row, `key` naming the row) and calls
    suppress_counts(), which emits CTEs ending in `suppressed_counts`: one row per key with every published count,
    NULL where suppressed, and `suppressed_columns` listing them. Raw counts never leave the model's CTEs.

    Cells and constraints. Every count of every row is a cell. A constraint is a set of cells tied by one
    equation, total = sum of parts, that a reader can form from published figures:
      - spec.partitions: within a row, a total and its parts (patients = female + male);
      - spec.differences: within a row, an unpublished count equal to a published total minus a published part
        (admissions without ICU care = admissions - ICU admissions). Such a derived cell is never shown, but
        anyone can compute it, so it is protected like a published one;
      - row_partitions (partition_id, row_key, is_total): across rows, the rows of a partition add up to its total
        row (segments to all patients), count by count.
    Primary suppression hides every cell below var('min_cell_size'), zero included. What must stay unknowable
    are the counts from 1 to min_cell_size - 1: they can point at people. A hidden zero can be worked out (counts
    are never negative, so hidden cells can be pinned to zero by their totals), but it only says a group is
    empty, so protection takes zeros as known. Complementary suppression then plays the reader: in each
    constraint, the hidden non-zero cells not yet worked out are the unknowns, and a constraint with a single
    unknown gives it away. There one more free non-zero cell is hidden (a part before the total, a derived cell
    before a published one, the smallest). Where none is left, a single unknown of at least the threshold is
    let go: the reader may work it out, and it counts as known in every other constraint; a small one fails
    the build. Passes repeat until every constraint holds no unknown or at least two. That no small count
    follows from the whole system of equations is checked by tests/test_marts.py.

    fixed_cells (row key, count name, is_suppressed) imports the decision already published for the same figure by
    another mart (segment sizes, tier sizes), so that one figure is shown or hidden alike everywhere; such cells
    are never picked here. The build fails, rather than publish a recoverable cell, if the passes run out. -#}

{% macro suppress_counts(group_counts, key, spec, row_partitions=none, fixed_cells=none, passes=20) %}
    {%- set min_cell_size = bi_min_cell_size() -%}
    {%- set published = spec.get('counts', []) -%}
    {%- set differences = spec.get('differences', []) -%}
    {%- set partitions = spec.get('partitions', []) -%}
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
        coalesce({{ name }}, 0)::bigint as {{ name }},
        {%- endfor %}
        {%- for name, total, part in differences %}
        (coalesce({{ total }}, 0) - coalesce({{ part }}, 0))::bigint as {{ name }},
        {%- endfor %}
    from {{ group_counts }}
),

suppression_cells as (
    select
        row_key,
        count_name,
        n,
        row_key || ' | ' || count_name as cell_id,
        count_name not in ({{ "'" ~ (derived | join("', '")) ~ "'" if derived else "''" }}) as is_published
    from suppression_counts_with_differences
    unpivot (n for count_name in ({{ (published + derived) | join(', ') }}))
),

suppression_fixed_cells as (
    {%- if fixed_cells is not none %}
    select row_key || ' | ' || count_name as cell_id, is_suppressed from {{ fixed_cells }}
    {%- else %}
    select null::varchar as cell_id, null::boolean as is_suppressed where false
    {%- endif %}
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
    select null::varchar as constraint_id, null::varchar as cell_id, null::boolean as is_total where false
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

suppression_pass_0 as materialized (
    select
        suppression_cells.*,
        suppression_fixed_cells.is_suppressed is not null as is_fixed,
        coalesce(suppression_fixed_cells.is_suppressed, suppression_cells.n < {{ min_cell_size }}) as is_suppressed,
        false as is_worked_out
    from suppression_cells
    left join suppression_fixed_cells
        on suppression_cells.cell_id = suppression_fixed_cells.cell_id
),
{%- for pass in range(1, passes + 1) %}

suppression_pass_{{ pass }}_status as (
    {{ constraint_unknowns('suppression_constraints', 'suppression_pass_' ~ (pass - 1), min_cell_size) }}
),

-- A constraint's only unknown that no free cell can protect any more, when it is at least the threshold.
suppression_pass_{{ pass }}_worked_out as (
    select constraints.cell_id
    from suppression_constraints as constraints
    inner join suppression_pass_{{ pass }}_status as status
        on constraints.constraint_id = status.constraint_id
    inner join suppression_pass_{{ pass - 1 }} as cells
        on constraints.cell_id = cells.cell_id
    where status.n_unknown = 1
        and status.n_small_unknown = 0
        and status.n_free = 0
        and cells.is_suppressed
        and cells.n > 0
        and not cells.is_worked_out
),

-- A constraint's only unknown: hide one more free non-zero cell of the constraint beside it.
suppression_pass_{{ pass }}_picks as (
    select constraints.cell_id
    from suppression_constraints as constraints
    inner join suppression_pass_{{ pass }}_status as status
        on constraints.constraint_id = status.constraint_id
    inner join suppression_pass_{{ pass - 1 }} as cells
        on constraints.cell_id = cells.cell_id
    where status.n_unknown = 1
        and not cells.is_suppressed
        and not cells.is_fixed
        and cells.n > 0
    qualify row_number() over (
        partition by constraints.constraint_id
        order by constraints.is_total, cells.is_published, cells.n, cells.cell_id
    ) = 1
),

suppression_pass_{{ pass }} as materialized (
    select
        * replace (
            is_suppressed or cell_id in (select cell_id from suppression_pass_{{ pass }}_picks) as is_suppressed,
            is_worked_out or cell_id in (select cell_id from suppression_pass_{{ pass }}_worked_out)
                as is_worked_out
        )
    from suppression_pass_{{ pass - 1 }}
),
{%- endfor %}

suppression_unresolved as (
    select constraint_id
    from ({{ constraint_unknowns('suppression_constraints', 'suppression_pass_' ~ passes, min_cell_size) }})
        as status
    -- A small count given away, or passes run out before every constraint settled.
    where n_unknown = 1 and (n_small_unknown = 1 or n_free > 0)
),

suppressed_cells as (
    select *
    from suppression_pass_{{ passes }}
    where (select count(*) from suppression_unresolved) = 0
        or error(
            'cell suppression in {{ this }} left a small count recoverable from constraint '
            || (select min(constraint_id) from suppression_unresolved)
        )
),

suppressed_counts as (
    select
        row_key,
        {%- for name in published %}
        max(n) filter (where count_name = '{{ name }}' and not is_suppressed) as {{ name }},
        {%- endfor %}
        -- Published columns only; derived cells are never shown.
        string_agg(count_name, ', ' order by count_name) filter (where is_suppressed and is_published)
            as suppressed_columns
    from suppressed_cells
    group by row_key
)
{%- endmacro %}


{#- Per constraint, the reader's unknowns (hidden non-zero cells not yet worked out), how many of them are small
    counts, and how many free non-zero cells could still be hidden beside them. -#}
{% macro constraint_unknowns(constraints, cells, min_cell_size) %}
    select
        constraints.constraint_id,
        count(*) filter (where cells.is_suppressed and cells.n > 0 and not cells.is_worked_out) as n_unknown,
        count(*) filter (
            where cells.is_suppressed and cells.n > 0 and cells.n < {{ min_cell_size }} and not cells.is_worked_out
        ) as n_small_unknown,
        count(*) filter (where not cells.is_suppressed and not cells.is_fixed and cells.n > 0) as n_free
    from {{ constraints }} as constraints
    inner join {{ cells }} as cells
        on constraints.cell_id = cells.cell_id
    group by constraints.constraint_id
{% endmacro %}
