{#- The most common items of each group as one text, most common first (ties by name): at most `length` items,
    each held by at least `min_holders` patients so that the list never points at a small group. Counts are not
    shown. `item_counts` has columns <group_column>, item, n_holders. -#}
{% macro top_items(item_counts, group_column, length, min_holders) %}
    select group_key, {{ string_agg_ordered('item', "'; '", 'item_rank') }} as items
    from (
        select
            {{ group_column }} as group_key,
            item,
            row_number() over (partition by {{ group_column }} order by n_holders desc, item) as item_rank
        from {{ item_counts }}
        where n_holders >= {{ min_holders }}
    ) as ranked_items
    where item_rank <= {{ length }}
    group by group_key
{% endmacro %}
