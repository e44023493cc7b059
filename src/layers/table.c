/*
 * table.c — the layer table: every kind's record, indexed by lf_kind, built
 * from the one list LF_LAYER_TABLE (model.h), and the lookups through it
 * (by JSON type, a node's weight tensors).
 */
#include "layers/layer.h"

#include <string.h>

#define LF_TYPE_ENTRY_(kind, record) [kind] = &record,
const lf_layer_type *const lf_layer_types[LF_K_COUNT] = {LF_LAYER_TABLE(LF_TYPE_ENTRY_)};
#undef LF_TYPE_ENTRY_

const char *lf_kind_name(lf_kind k) {
    return (unsigned)k < LF_K_COUNT ? lf_layer_types[k]->type : NULL;
}

int lf_kind_parse(const char *name) {
    for (int k = 0; k < LF_K_COUNT; k++)
        if (name && strcmp(name, lf_layer_types[k]->type) == 0) return k;
    return -1;
}

size_t lf_node_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    const lf_layer_type *t = lf_type_of(nd);
    /* a node sharing another's weights has none of its own */
    return t->weights && !nd->shares ? t->weights(m, nd, w) : 0;
}
