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

    The rule (as e.g. the CMS cell size suppression policy): what must stay unknowable are the counts from 1 to
    min_cell_size - 1, as they can point at people. A zero only says a group is empty and is published as 0;
    a count of at least min_cell_size is published unless it is needed to protect a small one.
      - Primary: a published count from 1 to min_cell_size - 1 is hidden (reason below_min_cell_size).
      - Complementary: the reader knows every published figure and solves the equations one at a time; an
        equation with a single unknown gives it away. Unknowns are the hidden non-zero cells and the
        differences not worked out. A lone unknown that needs no protection (a difference of at least the
        threshold) is simply worked out. A lone unknown that needs protection (a small count, a complementary
        cell, a figure another mart hides) makes one more cell of its equation hidden (reason
        protects_<column>): a shown non-zero cell, preferring a count outside spec.headline (so that headline
        figures stay shown while another count can protect), then the one whose hiding leaves fewest other
        equations with a lone unknown, then a part over a total, the smallest. Greedy choices are not always
        the fewest: the whole search runs twice, ties broken once by the smallest cell and once by the equation
        with the fewest choices, and the result hiding fewer cells is published (both are equally safe). An equation without such a cell
        may instead hide a worked-out difference, which its own equation then protects. A lone complementary
        cell that nothing can protect any more is let go (it is at least the threshold; the cell it protected
        then needs another partner).
      - One cell is hidden per round, the best over all equations, after the reader has worked out all there
        is: a cell hidden for one equation often protects another too. Hiding a cell can undo what the reader
        worked out, so work-outs start over after each. Rounds repeat (one recursive query) until no equation
        has a lone unknown; a small count left alone in an equation fails the build. That no small count
        follows from the whole system of equations is checked by tests/test_marts.py.

    fixed_cells (row key, count name, is_suppressed) imports the decision already published for the same figure by
    another mart (fixed_source, e.g. segment sizes of segment_tier_matrix), so that one figure is shown or hidden
    alike everywhere; such cells are never picked here, and a hidden one is protected here as well.
    unpublished_cells (row key, count name) are cells of the equations that no mart of this build publishes (in
    segment_transitions, the previous build's sizes): unknown to the reader like a difference, protected only
    when small. `passes` caps the rounds (a build that runs out fails rather than publish a recoverable cell). -#}

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

suppression_constraints as {{ materialized_hint() }} (
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

-- The cells as the reader first sees them. Differences are unknown until worked out; a hidden cell needs
-- protection when it is small, or when another mart hides it (its protection there must not be undone here).
suppression_start as (
    select
        strategies.strategy,
        suppression_cells.cell_id,
        suppression_cells.n,
        suppression_cells.is_published,
        suppression_fixed_cells.is_suppressed is not null as is_fixed,
        case
            when not suppression_cells.is_published then true
            when suppression_fixed_cells.is_suppressed is not null then suppression_fixed_cells.is_suppressed
            else suppression_cells.n between 1 and {{ min_cell_size - 1 }}
        end as is_hidden,
        suppression_cells.n between 1 and {{ min_cell_size - 1 }}
            or coalesce(suppression_fixed_cells.is_suppressed, false) as needs_protection,
        false as is_worked_out,
        false as is_let_go,
        case
            when not suppression_cells.is_published then null
            when suppression_fixed_cells.is_suppressed then 'fixed'
            when suppression_fixed_cells.is_suppressed is null
                and suppression_cells.n between 1 and {{ min_cell_size - 1 }} then 'below_min_cell_size'
        end as reason,
        null::{{ dbt.type_string() }} as protects_cell_id,
        0 as pass_number
    from suppression_cells
    left join suppression_fixed_cells
        on suppression_cells.cell_id = suppression_fixed_cells.cell_id
    -- Two ways to break ties between equally good cells (below); the leaner result is kept.
    cross join (values (1), (2)) as strategies (strategy)
),

-- Each round does one of three things, in this order of priority:
--   1. the reader works out every lone unknown that needs no protection (is_worked_out);
--   2. once the reader is done, a lone protected unknown of at least the threshold that no cell can protect is
--      let go: taken as known for good (is_let_go);
--   3. otherwise one more cell is hidden, beside a lone protected unknown. What the reader worked out may rest
--      on that cell, so work-outs start over (let-gos stay: assuming more is known is safe).
{# DuckDB keeps the state as a table keyed by (strategy, cell_id) that each round updates (USING KEY). Spark
    has no keyed recursion: there each round emits the whole state of every strategy it changed, numbered
    by round_number, and the state is the last round of each strategy (docs/spark.md). #}
{% set keyed = recursive_cte_using_key() %}
suppression_state as (
    with recursive state (strategy, cell_id, n, is_published, is_fixed, is_hidden, needs_protection,
                          is_worked_out, is_let_go, reason, protects_cell_id, pass_number
                          {%- if not keyed %}, round_number{% endif %})
        {% if keyed %}using key (strategy, cell_id) {% endif %}as (
        select *{% if not keyed %}, 0{% endif %} from suppression_start
        union{% if not keyed %} all{% endif %}
        (
            with current_state as (
                select * from {{ 'recurring.state' if keyed else 'state' }}
            ),

            status as (
                {{ suppression_status('current_state') }}
            ),

            -- Equations with a lone unknown, and that unknown.
            lone_unknowns as (
                select status.strategy, status.constraint_id, cells.cell_id, cells.n, cells.needs_protection
                from status
                inner join current_state as cells
                    on status.strategy = cells.strategy
                    and status.unknown_cell_id = cells.cell_id
                where status.n_unknown = 1
            ),

            -- Cells that could protect a lone unknown: a shown non-zero cell of its own choosing, else a
            -- worked-out difference (hidden again, its own equation then protects it).
            candidates as (
                select
                    lone_unknowns.strategy,
                    lone_unknowns.constraint_id,
                    lone_unknowns.cell_id as protected_cell_id,
                    cells.cell_id,
                    cells.is_published,
                    memberships.is_total,
                    cells.n,
                    count(*) over (partition by lone_unknowns.strategy, lone_unknowns.constraint_id) as n_choices
                from lone_unknowns
                inner join suppression_constraints as memberships
                    on lone_unknowns.constraint_id = memberships.constraint_id
                inner join current_state as cells
                    on lone_unknowns.strategy = cells.strategy
                    and memberships.cell_id = cells.cell_id
                where lone_unknowns.needs_protection
                    and cells.n > 0
                    and (
                        (cells.is_published and not cells.is_hidden and not cells.is_fixed)
                        or (not cells.is_published and cells.is_worked_out and not cells.needs_protection)
                    )
            ),

            work_outs as (
                select distinct strategy, cell_id from lone_unknowns where not needs_protection
            ),

            let_gos as (
                select distinct lone_unknowns.strategy, lone_unknowns.cell_id
                from lone_unknowns
                where lone_unknowns.needs_protection
                    and lone_unknowns.n >= {{ min_cell_size }}
                    and not exists (
                        select 1 from candidates
                        where candidates.strategy = lone_unknowns.strategy
                            and candidates.constraint_id = lone_unknowns.constraint_id
                    )
            ),

            -- Hiding a cell creates a lone unknown in each of its other equations that had none, and settles
            -- those that already wait for a partner.
            candidate_costs as (
                select
                    candidates.strategy,
                    candidates.cell_id,
                    count(*) filter (where status.n_unknown = 0)
                        - count(*) filter (where lone_unknowns.needs_protection) as cost
                from (select distinct strategy, cell_id from candidates) as candidates
                inner join suppression_constraints as memberships
                    on candidates.cell_id = memberships.cell_id
                inner join status
                    on candidates.strategy = status.strategy
                    and memberships.constraint_id = status.constraint_id
                left join lone_unknowns
                    on candidates.strategy = lone_unknowns.strategy
                    and memberships.constraint_id = lone_unknowns.constraint_id
                group by candidates.strategy, candidates.cell_id
            ),

            -- One cell per round, the best over all equations: once it is hidden, what the reader can work
            -- out changes, and another equation may need no partner of its own any more. Among equal costs,
            -- strategy 2 serves the equation with the fewest candidates first (its choice is forced; the
            -- others can then pick a cell that protects two at once), strategy 1 takes the smallest cell.
            picks as (
                select candidates.strategy, candidates.cell_id, candidates.protected_cell_id
                from candidates
                inner join candidate_costs
                    on candidates.strategy = candidate_costs.strategy
                    and candidates.cell_id = candidate_costs.cell_id
                inner join suppression_cells as cells
                    on candidates.cell_id = cells.cell_id
                where not exists (select 1 from work_outs where work_outs.strategy = candidates.strategy)
                    and not exists (select 1 from let_gos where let_gos.strategy = candidates.strategy)
                qualify row_number() over (
                    partition by candidates.strategy
                    order by
                        not candidates.is_published, cells.is_headline, candidate_costs.cost,
                        case when candidates.strategy = 2 then candidates.n_choices end,
                        candidates.is_total, candidates.n, candidates.cell_id, candidates.constraint_id
                ) = 1
            ),

            changes as (
                select strategy, cell_id, 'work_out' as action, null::{{ dbt.type_string() }} as protected_cell_id from work_outs
                union all
                select strategy, cell_id, 'let_go', null from let_gos
                where not exists (select 1 from work_outs where work_outs.strategy = let_gos.strategy)
                union all
                select strategy, cell_id, 'pick', protected_cell_id from picks
                union all
                select strategy, cell_id, 'start_over', null from current_state
                where is_worked_out and exists (select 1 from picks where picks.strategy = current_state.strategy)
            ),

            cell_changes as (
                select
                    strategy,
                    cell_id,
                    bool_or(action = 'work_out') as is_worked_out_now,
                    bool_or(action = 'let_go') as is_let_go_now,
                    bool_or(action = 'pick') as is_picked,
                    min(protected_cell_id) as protected_cell_id,
                    -- A pick round starts the strategy's work-outs over.
                    bool_or(action in ('pick', 'start_over')) as is_start_over
                from changes
                group by strategy, cell_id
            )

            select
                cells.strategy,
                cells.cell_id,
                cells.n,
                cells.is_published,
                cells.is_fixed,
                cells.is_hidden or cell_changes.is_picked as is_hidden,
                cells.needs_protection or cell_changes.is_picked as needs_protection,
                cell_changes.is_worked_out_now or (cells.is_worked_out and not cell_changes.is_start_over)
                    as is_worked_out,
                cells.is_let_go or cell_changes.is_let_go_now as is_let_go,
                case when cell_changes.is_picked and cells.is_published then 'protects' else cells.reason end
                    as reason,
                case when cell_changes.is_picked then cell_changes.protected_cell_id else cells.protects_cell_id end
                    as protects_cell_id,
                cells.pass_number + 1 as pass_number
                {%- if not keyed %},
                cells.round_number + 1 as round_number
                {%- endif %}
            from cell_changes
            inner join current_state as cells
                on cell_changes.strategy = cells.strategy
                and cell_changes.cell_id = cells.cell_id
            where cells.pass_number < {{ passes }}
            {%- if not keyed %}
            -- The unchanged cells of every strategy this round changes: the round's whole state.
            union all
            select cells.* except (round_number), cells.round_number + 1
            from current_state as cells
            where exists (
                    select 1 from cell_changes as changed
                    inner join current_state as changed_cells
                        on changed.strategy = changed_cells.strategy
                        and changed.cell_id = changed_cells.cell_id
                    where changed.strategy = cells.strategy
                        and changed_cells.pass_number < {{ passes }}
                )
                and not exists (
                    select 1 from cell_changes as changed
                    inner join current_state as changed_cells
                        on changed.strategy = changed_cells.strategy
                        and changed.cell_id = changed_cells.cell_id
                    where changed.strategy = cells.strategy
                        and changed.cell_id = cells.cell_id
                        and changed_cells.pass_number < {{ passes }}
                )
            {%- endif %}
        )
    )

    {% if keyed -%}
    select * from state
    {%- else -%}
    select * except (round_number) from state
    qualify round_number = max(round_number) over (partition by strategy)
    {%- endif %}
),

-- The strategy hiding the fewest published cells (the first on a tie).
suppression_strategy as (
    select strategy
    from suppression_state
    group by strategy
    order by count(*) filter (where is_hidden and is_published), strategy
    limit 1
),

suppression_result as (
    select suppression_state.*
    from suppression_state
    inner join suppression_strategy
        on suppression_state.strategy = suppression_strategy.strategy
),

-- A lone unknown left means a count the reader can work out that needed protection: a small count without
-- any cell left to protect it, or rounds run out.
suppression_unresolved as (
    select constraint_id
    from ({{ suppression_status('suppression_result') }}) as status
    where n_unknown = 1
        and exists (
            select 1 from suppression_result as cells
            where cells.cell_id = status.unknown_cell_id and cells.needs_protection
        )
),

suppressed_cells as (
    select
        suppression_cells.row_key,
        suppression_cells.count_name,
        suppression_cells.n,
        suppression_result.is_hidden and suppression_result.is_published as is_suppressed,
        suppression_result.is_published,
        case suppression_result.reason
            when 'protects' then 'protects_' || protected.count_name
            when 'fixed' then 'as_in_{{ fixed_source }}'
            else suppression_result.reason
        end as reason,
        protected.row_key as protects_row_key,
        protected.count_name as protects_column
    from suppression_result
    inner join suppression_cells
        on suppression_result.cell_id = suppression_cells.cell_id
    left join suppression_cells as protected
        on suppression_result.protects_cell_id = protected.cell_id
    where (select count(*) from suppression_unresolved) = 0
        or {{ error_function() }}(
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


{#- Per equation, the reader's unknowns (hidden or unpublished non-zero cells neither worked out nor let go)
    and one of them (the only one when n_unknown = 1). -#}
{% macro suppression_status(cells) %}
    select
        cells.strategy,
        constraints.constraint_id,
        count(*) filter (
            where cells.is_hidden and cells.n > 0 and not cells.is_worked_out and not cells.is_let_go
        ) as n_unknown,
        min(cells.cell_id) filter (
            where cells.is_hidden and cells.n > 0 and not cells.is_worked_out and not cells.is_let_go
        ) as unknown_cell_id
    from suppression_constraints as constraints
    inner join {{ cells }} as cells
        on constraints.cell_id = cells.cell_id
    group by cells.strategy, constraints.constraint_id
{% endmacro %}


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
