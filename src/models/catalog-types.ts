/** The subset of Hugging Face config.json keys ftplan reads; values as config.json spells them. */
export interface HfConfig {
  model_type?: string
  hidden_size?: number
  num_hidden_layers?: number
  num_attention_heads?: number
  num_key_value_heads?: number
  head_dim?: number
  intermediate_size?: number
  vocab_size?: number
  max_position_embeddings?: number
  tie_word_embeddings?: boolean
  attention_bias?: boolean
  torch_dtype?: string
  num_local_experts?: number
  num_experts?: number
  num_experts_per_tok?: number
  moe_intermediate_size?: number
  shared_expert_intermediate_size?: number
  decoder_sparse_step?: number
  mlp_only_layers?: readonly number[]
  norm_topk_prob?: boolean
  n_routed_experts?: number
  n_shared_experts?: number
  first_k_dense_replace?: number
  moe_layer_freq?: number
  topk_method?: string
  q_lora_rank?: number | null
  kv_lora_rank?: number
  qk_rope_head_dim?: number
  qk_nope_head_dim?: number
  v_head_dim?: number
}

export interface CatalogModel {
  config: HfConfig
  verification: 'verbatim-copy' | 'derivative-copy' | 'secondary'
  /** The config.json copy the shapes come from. */
  source: string
  crossChecks: readonly string[]
  /** The publisher's own (rounded) figure, e.g. "7B" or "1B (1.23B)". */
  publishedParams: { total: string; active?: string; source: string } | null
  /** Exact counts of loaded weights from an independent implementation. */
  referenceParamCounts: readonly { value: number; source: string; note?: string }[]
  unverifiedFields: readonly string[]
}
