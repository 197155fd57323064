"""What PyTorch 2.13's FX records for the functions of torch's namespaces, where it is not the obvious.

Data only, recorded from PyTorch (tests/test_fx_tables.py derives these from an installed torch and checks
them against this file). Keys are public paths ("torch.split", "torch.nn.functional.relu").

QUALNAMES    the name FX prints for a function (``_get_qualified_name``), where it is not the public path
             (``torch.special.X`` and ``torch.linalg.X`` follow a rule instead: see dynagrad/fx/_names.py)
CALLS        functions written in Python in PyTorch, which hand FX their arguments in a fixed pattern
             rather than as the caller wrote them: (signature, how many leading parameters go positionally,
             the keyword names that follow, or None for "the rest of the signature in order")
NO_DISPATCH  Python functions PyTorch runs as plain code on a Proxy (nothing is recorded for the call)
PUBLIC       the names of dynagrad's namespaces that are functions in PyTorch's (the others are dynagrad's
             helpers, not API)
"""
QUALNAMES = {
    'torch.atleast_1d': 'torch.functional.atleast_1d',
    'torch.atleast_2d': 'torch.functional.atleast_2d',
    'torch.atleast_3d': 'torch.functional.atleast_3d',
    'torch.block_diag': 'torch.functional.block_diag',
    'torch.broadcast_shapes': 'torch.functional.broadcast_shapes',
    'torch.broadcast_tensors': 'torch.functional.broadcast_tensors',
    'torch.cartesian_prod': 'torch.functional.cartesian_prod',
    'torch.cdist': 'torch.functional.cdist',
    'torch.chain_matmul': 'torch.functional.chain_matmul',
    'torch.eig': 'torch._linalg_utils.eig',
    'torch.einsum': 'torch.functional.einsum',
    'torch.from_dlpack': 'torch.utils.dlpack.from_dlpack',
    'torch.get_rng_state': 'torch.random.get_rng_state',
    'torch.initial_seed': 'torch.random.initial_seed',
    'torch.load': 'torch.serialization.load',
    'torch.lstsq': 'torch._linalg_utils.lstsq',
    'torch.lu': 'torch.functional.lu',
    'torch.manual_seed': 'torch.random.manual_seed',
    'torch.matrix_rank': 'torch._linalg_utils.matrix_rank',
    'torch.meshgrid': 'torch.functional.meshgrid',
    'torch.nn.functional.adaptive_avg_pool1d': 'torch.adaptive_avg_pool1d',
    'torch.nn.functional.avg_pool1d': 'torch.avg_pool1d',
    'torch.nn.functional.avg_pool2d': 'torch._C._nn.avg_pool2d',
    'torch.nn.functional.avg_pool3d': 'torch._C._nn.avg_pool3d',
    'torch.nn.functional.bilinear': 'torch.bilinear',
    'torch.nn.functional.celu_': 'torch.celu_',
    'torch.nn.functional.channel_shuffle': 'torch.channel_shuffle',
    'torch.nn.functional.conv1d': 'torch.conv1d',
    'torch.nn.functional.conv2d': 'torch.conv2d',
    'torch.nn.functional.conv3d': 'torch.conv3d',
    'torch.nn.functional.conv_transpose1d': 'torch.conv_transpose1d',
    'torch.nn.functional.conv_transpose2d': 'torch.conv_transpose2d',
    'torch.nn.functional.conv_transpose3d': 'torch.conv_transpose3d',
    'torch.nn.functional.cosine_similarity': 'torch.cosine_similarity',
    'torch.nn.functional.elu_': 'torch._C._nn.elu_',
    'torch.nn.functional.gelu': 'torch._C._nn.gelu',
    'torch.nn.functional.hardshrink': 'torch.hardshrink',
    'torch.nn.functional.hardtanh_': 'torch._C._nn.hardtanh_',
    'torch.nn.functional.leaky_relu_': 'torch._C._nn.leaky_relu_',
    'torch.nn.functional.linear': 'torch._C._nn.linear',
    'torch.nn.functional.logsigmoid': 'torch._C._nn.log_sigmoid',
    'torch.nn.functional.native_channel_shuffle': 'torch.native_channel_shuffle',
    'torch.nn.functional.one_hot': 'torch._C._nn.one_hot',
    'torch.nn.functional.pairwise_distance': 'torch.pairwise_distance',
    'torch.nn.functional.pdist': 'torch.pdist',
    'torch.nn.functional.pixel_shuffle': 'torch.pixel_shuffle',
    'torch.nn.functional.pixel_unshuffle': 'torch.pixel_unshuffle',
    'torch.nn.functional.prelu': 'torch.prelu',
    'torch.nn.functional.relu_': 'torch.relu_',
    'torch.nn.functional.rrelu_': 'torch.rrelu_',
    'torch.nn.functional.scaled_dot_product_attention': 'torch._C._nn.scaled_dot_product_attention',
    'torch.nn.functional.selu_': 'torch.selu_',
    'torch.nn.functional.softplus': 'torch._C._nn.softplus',
    'torch.nn.functional.softshrink': 'torch._C._nn.softshrink',
    'torch.nn.functional.threshold': 'torch.nn.functional._threshold',
    'torch.nn.functional.threshold_': 'torch.threshold_',
    'torch.norm': 'torch.functional.norm',
    'torch.pca_lowrank': 'torch._lowrank.pca_lowrank',
    'torch.save': 'torch.serialization.save',
    'torch.seed': 'torch.random.seed',
    'torch.set_printoptions': 'torch._tensor_str.set_printoptions',
    'torch.set_rng_state': 'torch.random.set_rng_state',
    'torch.solve': 'torch._linalg_utils.solve',
    'torch.split': 'torch.functional.split',
    'torch.stft': 'torch.functional.stft',
    'torch.svd_lowrank': 'torch._lowrank.svd_lowrank',
    'torch.symeig': 'torch._linalg_utils._symeig',
    'torch.tensordot': 'torch.functional.tensordot',
    'torch.to_dlpack': 'torch._C._to_dlpack',
    'torch.unique': 'torch.functional.unique',
    'torch.unique_consecutive': 'torch.functional.unique_consecutive',
    'torch.unravel_index': 'torch.functional.unravel_index',
    'torch.vmap': 'torch.func.vmap',
}
CALLS = {
    'torch.atleast_1d': ('*tensors', 1, None),
    'torch.atleast_2d': ('*tensors', 1, None),
    'torch.atleast_3d': ('*tensors', 1, None),
    'torch.block_diag': ('*tensors', 1, None),
    'torch.broadcast_tensors': ('*tensors', 1, None),
    'torch.cartesian_prod': ('*tensors', 1, None),
    'torch.cdist': ("x1, x2, p=2.0, compute_mode='use_mm_for_euclid_dist_if_necessary'", 2, None),
    'torch.chain_matmul': ('*matrices, out=None', 1, ()),
    'torch.lu': ('A, pivot=True, get_infos=False, out=None', 1, None),
    'torch.meshgrid': ('*tensors, indexing=None', 1, None),
    'torch.nn.functional.adaptive_avg_pool2d': ('input, output_size', 2, None),
    'torch.nn.functional.adaptive_avg_pool3d': ('input, output_size', 2, None),
    'torch.nn.functional.adaptive_max_pool1d': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.adaptive_max_pool1d_with_indices': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.adaptive_max_pool2d': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.adaptive_max_pool2d_with_indices': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.adaptive_max_pool3d': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.adaptive_max_pool3d_with_indices': ('input, output_size, return_indices=False', 2, None),
    'torch.nn.functional.affine_grid': ('theta, size, align_corners=None', 2, None),
    'torch.nn.functional.alpha_dropout': ('input, p=0.5, training=False, inplace=False', 1, None),
    'torch.nn.functional.batch_norm': (
        'input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05'
        , 3, None),
    'torch.nn.functional.binary_cross_entropy': (
        "input, target, weight=None, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.binary_cross_entropy_with_logits': (
        "input, target, weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None"
        , 2, None),
    'torch.nn.functional.celu': ('input, alpha=1.0, inplace=False', 1, None),
    'torch.nn.functional.cosine_embedding_loss': (
        "input1, input2, target, margin=0, size_average=None, reduce=None, reduction='mean'"
        , 3, None),
    'torch.nn.functional.cross_entropy': (
        "input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', "
        'label_smoothing=0.0'
        , 2, None),
    'torch.nn.functional.ctc_loss': (
        "log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean', zero_infinity=False"
        , 4, None),
    'torch.nn.functional.dropout': ('input, p=0.5, training=True, inplace=False', 1, None),
    'torch.nn.functional.dropout1d': ('input, p=0.5, training=True, inplace=False', 1, None),
    'torch.nn.functional.dropout2d': ('input, p=0.5, training=True, inplace=False', 1, None),
    'torch.nn.functional.dropout3d': ('input, p=0.5, training=True, inplace=False', 1, None),
    'torch.nn.functional.elu': ('input, alpha=1.0, inplace=False', 1, None),
    'torch.nn.functional.embedding': (
        'input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, '
        'sparse=False'
        , 2, None),
    'torch.nn.functional.embedding_bag': (
        "input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode='mean', "
        'sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None'
        , 2, None),
    'torch.nn.functional.feature_alpha_dropout': ('input, p=0.5, training=False, inplace=False', 1, None),
    'torch.nn.functional.fold': ('input, output_size, kernel_size, dilation=1, padding=0, stride=1', 3, None),
    'torch.nn.functional.fractional_max_pool2d': (
        'input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None'
        , 2, None),
    'torch.nn.functional.fractional_max_pool2d_with_indices': (
        'input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None'
        , 2, None),
    'torch.nn.functional.fractional_max_pool3d': (
        'input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None'
        , 2, None),
    'torch.nn.functional.fractional_max_pool3d_with_indices': (
        'input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None'
        , 2, None),
    'torch.nn.functional.gaussian_nll_loss': ("input, target, var, full=False, eps=1e-06, reduction='mean'", 3, None),
    'torch.nn.functional.glu': ('input, dim=-1', 1, None),
    'torch.nn.functional.grid_sample': (
        "input, grid, mode='bilinear', padding_mode='zeros', align_corners=None"
        , 2, None),
    'torch.nn.functional.group_norm': ('input, num_groups, weight=None, bias=None, eps=1e-05', 2, None),
    'torch.nn.functional.gumbel_softmax': ('logits, tau=1, hard=False, eps=1e-10, dim=-1', 1, None),
    'torch.nn.functional.hardsigmoid': ('input, inplace=False', 1, None),
    'torch.nn.functional.hardswish': ('input, inplace=False', 1, None),
    'torch.nn.functional.hardtanh': ('input, min_val=-1.0, max_val=1.0, inplace=False', 1, None),
    'torch.nn.functional.hinge_embedding_loss': (
        "input, target, margin=1.0, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.huber_loss': ("input, target, reduction='mean', delta=1.0, weight=None", 2, None),
    'torch.nn.functional.instance_norm': (
        'input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, '
        'momentum=0.1, eps=1e-05'
        , 1, None),
    'torch.nn.functional.interpolate': (
        "input, size=None, scale_factor=None, mode='nearest', align_corners=None, "
        'recompute_scale_factor=None, antialias=False'
        , 1, None),
    'torch.nn.functional.kl_div': (
        "input, target, size_average=None, reduce=None, reduction='mean', log_target=False"
        , 2, None),
    'torch.nn.functional.l1_loss': (
        "input, target, size_average=None, reduce=None, reduction='mean', weight=None"
        , 2, ('size_average', 'reduce', 'reduction')),
    'torch.nn.functional.layer_norm': ('input, normalized_shape, weight=None, bias=None, eps=1e-05', 2, None),
    'torch.nn.functional.leaky_relu': ('input, negative_slope=0.01, inplace=False', 1, None),
    'torch.nn.functional.linear_cross_entropy': (
        "input, linear_weight, target, linear_bias=None, weight=None, reduction='mean', ignore_index=None, "
        'label_smoothing=0.0, options=None'
        , 3, None),
    'torch.nn.functional.local_response_norm': ('input, size, alpha=0.0001, beta=0.75, k=1.0', 2, None),
    'torch.nn.functional.log_softmax': ('input, dim=None, _stacklevel=3, dtype=None', 1, None),
    'torch.nn.functional.lp_pool1d': ('input, norm_type, kernel_size, stride=None, ceil_mode=False', 3, None),
    'torch.nn.functional.lp_pool2d': ('input, norm_type, kernel_size, stride=None, ceil_mode=False', 3, None),
    'torch.nn.functional.lp_pool3d': ('input, norm_type, kernel_size, stride=None, ceil_mode=False', 3, None),
    'torch.nn.functional.margin_ranking_loss': (
        "input1, input2, target, margin=0, size_average=None, reduce=None, reduction='mean'"
        , 3, None),
    'torch.nn.functional.max_pool1d': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_pool1d_with_indices': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_pool2d': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_pool2d_with_indices': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_pool3d': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_pool3d_with_indices': (
        'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
        , 2, None),
    'torch.nn.functional.max_unpool1d': (
        'input, indices, kernel_size, stride=None, padding=0, output_size=None'
        , 3, None),
    'torch.nn.functional.max_unpool2d': (
        'input, indices, kernel_size, stride=None, padding=0, output_size=None'
        , 3, None),
    'torch.nn.functional.max_unpool3d': (
        'input, indices, kernel_size, stride=None, padding=0, output_size=None'
        , 3, None),
    'torch.nn.functional.mish': ('input, inplace=False', 1, None),
    'torch.nn.functional.mse_loss': (
        "input, target, size_average=None, reduce=None, reduction='mean', weight=None"
        , 2, None),
    'torch.nn.functional.multi_head_attention_forward': (
        'query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, '
        'add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None, '
        'need_weights=True, attn_mask=None, use_separate_proj_weight=False, q_proj_weight=None, '
        'k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True, '
        'is_causal=False'
        , 13, (
            'training', 'key_padding_mask', 'need_weights', 'attn_mask', 'is_causal', 'use_separate_proj_weight',
            'q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'static_k', 'static_v', 'average_attn_weights',
        )),
    'torch.nn.functional.multi_margin_loss': (
        "input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.multilabel_margin_loss': (
        "input, target, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.multilabel_soft_margin_loss': (
        "input, target, weight=None, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.nll_loss': (
        "input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.normalize': ('input, p=2.0, dim=1, eps=1e-12, out=None', 1, None),
    'torch.nn.functional.pad': ("input, pad, mode='constant', value=None", 2, None),
    'torch.nn.functional.poisson_nll_loss': (
        'input, target, log_input=True, full=False, size_average=None, eps=1e-08, reduce=None, '
        "reduction='mean'"
        , 2, None),
    'torch.nn.functional.relu': ('input, inplace=False', 1, None),
    'torch.nn.functional.relu6': ('input, inplace=False', 1, None),
    'torch.nn.functional.rms_norm': ('input, normalized_shape, weight=None, eps=None', 2, None),
    'torch.nn.functional.rrelu': (
        'input, lower=0.125, upper=0.3333333333333333, training=False, inplace=False'
        , 1, None),
    'torch.nn.functional.selu': ('input, inplace=False', 1, None),
    'torch.nn.functional.silu': ('input, inplace=False', 1, None),
    'torch.nn.functional.smooth_l1_loss': (
        "input, target, size_average=None, reduce=None, reduction='mean', beta=1.0"
        , 2, None),
    'torch.nn.functional.soft_margin_loss': (
        "input, target, size_average=None, reduce=None, reduction='mean'"
        , 2, None),
    'torch.nn.functional.softmax': ('input, dim=None, _stacklevel=3, dtype=None', 1, None),
    'torch.nn.functional.softmin': ('input, dim=None, _stacklevel=3, dtype=None', 1, None),
    'torch.nn.functional.softsign': ('input', 1, None),
    'torch.nn.functional.tanhshrink': ('input', 1, None),
    'torch.nn.functional.threshold': ('input, threshold, value, inplace=False', 3, None),
    'torch.nn.functional.triplet_margin_loss': (
        'anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, size_average=None, reduce=None, '
        "reduction='mean'"
        , 3, None),
    'torch.nn.functional.triplet_margin_with_distance_loss': (
        "anchor, positive, negative, distance_function=None, margin=1.0, swap=False, reduction='mean'"
        , 3, None),
    'torch.nn.functional.unfold': ('input, kernel_size, dilation=1, padding=0, stride=1', 2, None),
    'torch.norm': ("input, p='fro', dim=None, keepdim=False, out=None, dtype=None", 1, None),
    'torch.pca_lowrank': ('A, q=None, center=True, niter=2', 1, None),
    'torch.split': ('tensor, split_size_or_sections, dim=0', 2, None),
    'torch.stft': (
        "input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode='reflect', "
        'normalized=False, onesided=None, return_complex=None, align_to_window=None'
        , 2, None),
    'torch.svd_lowrank': ('A, q=6, niter=2, M=None', 1, None),
    'torch.tensordot': ('a, b, dims=2, out=None', 2, None),
    'torch.unique': ('input, sorted=True, return_inverse=False, return_counts=False, dim=None', 1, None),
    'torch.unique_consecutive': ('input, return_inverse=False, return_counts=False, dim=None', 1, None),
    'torch.unravel_index': ('indices, shape', 1, None),
}
NO_DISPATCH = frozenset({
    'torch.are_deterministic_algorithms_enabled',
    'torch.broadcast_shapes',
    'torch.cond',
    'torch.eig',
    'torch.from_dlpack',
    'torch.get_default_device',
    'torch.get_deterministic_debug_mode',
    'torch.get_float32_matmul_precision',
    'torch.get_rng_state',
    'torch.initial_seed',
    'torch.is_deterministic_algorithms_warn_only_enabled',
    'torch.is_storage',
    'torch.is_tensor',
    'torch.is_warn_always_enabled',
    'torch.load',
    'torch.lstsq',
    'torch.manual_seed',
    'torch.matrix_rank',
    'torch.nn.functional.sigmoid',
    'torch.nn.functional.tanh',
    'torch.nn.functional.upsample',
    'torch.nn.functional.upsample_bilinear',
    'torch.nn.functional.upsample_nearest',
    'torch.save',
    'torch.seed',
    'torch.set_default_device',
    'torch.set_default_dtype',
    'torch.set_default_tensor_type',
    'torch.set_deterministic_debug_mode',
    'torch.set_float32_matmul_precision',
    'torch.set_printoptions',
    'torch.set_rng_state',
    'torch.set_warn_always',
    'torch.solve',
    'torch.symeig',
    'torch.typename',
    'torch.use_deterministic_algorithms',
    'torch.vmap',
})
PUBLIC = {
    'torch': frozenset("""
        abs abs_ absolute acos acos_ acosh acosh_ adaptive_avg_pool1d adaptive_max_pool1d add addbmm addcdiv addcmul
        addmm addmv addmv_ addr adjoint affine_grid_generator all allclose alpha_dropout alpha_dropout_ amax amin
        aminmax angle any arange arccos arccos_ arccosh arccosh_ arcsin arcsin_ arcsinh arcsinh_ arctan arctan2
        arctan_ arctanh arctanh_ are_deterministic_algorithms_enabled argmax argmin argsort argwhere as_tensor
        asarray asin asin_ asinh asinh_ atan atan2 atan_ atanh atanh_ atleast_1d atleast_2d atleast_3d avg_pool1d
        baddbmm bartlett_window batch_norm bernoulli bilinear binary_cross_entropy_with_logits bincount binomial
        bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor blackman_window
        block_diag bmm broadcast_shapes broadcast_tensors broadcast_to bucketize can_cast cartesian_prod cat cdist
        ceil ceil_ celu celu_ chain_matmul channel_shuffle cholesky cholesky_inverse cholesky_solve chunk clamp
        clamp_ clamp_max clamp_max_ clamp_min clamp_min_ clip clip_ clone column_stack combinations complex concat
        concatenate cond conj conj_physical conj_physical_ constant_pad_nd conv1d conv2d conv3d conv_tbc
        conv_transpose1d conv_transpose2d conv_transpose3d convolution copysign corrcoef cos cos_ cosh cosh_
        cosine_embedding_loss cosine_similarity count_nonzero cov cross ctc_loss cummax cummin cumprod cumsum
        cumulative_trapezoid deg2rad deg2rad_ det detach detach_ diag diag_embed diagflat diagonal diagonal_copy
        diagonal_scatter diff digamma dist div divide dot dropout dropout_ dsplit dstack eig einsum embedding
        embedding_renorm_ empty empty_like empty_permuted empty_strided eq equal erf erf_ erfc erfc_ erfinv exp exp2
        exp2_ exp_ expm1 expm1_ eye feature_alpha_dropout feature_alpha_dropout_ feature_dropout feature_dropout_
        fill fill_ fix fix_ flatten flip fliplr flipud float_power floor floor_ floor_divide fmax fmin fmod frac
        frac_ frexp frobenius_norm from_dlpack from_file from_numpy frombuffer full full_like gather gcd gcd_ ge
        geqrf ger get_autocast_dtype get_default_device get_default_dtype get_deterministic_debug_mode get_device
        get_device_module get_float32_matmul_precision get_num_interop_threads get_num_threads get_rng_state
        gradient greater greater_equal grid_sampler grid_sampler_2d grid_sampler_3d group_norm gru gru_cell gt
        hamming_window hann_window hardshrink hash_tensor heaviside hinge_embedding_loss histc histogram histogramdd
        hsplit hstack hypot i0 i0_ igamma igammac imag index_add index_copy index_fill index_put index_put_
        index_reduce index_select initial_seed inner instance_norm inverse is_anomaly_check_nan_enabled
        is_anomaly_enabled is_autocast_enabled is_complex is_conj is_deterministic_algorithms_warn_only_enabled
        is_distributed is_floating_point is_grad_enabled is_inference_mode_enabled is_neg is_nonzero is_same_size
        is_signed is_storage is_tensor is_vulkan_available is_warn_always_enabled isclose isfinite isin isinf isnan
        isneginf isposinf isreal istft kaiser_window kl_div kron kthvalue layer_norm lcm lcm_ ldexp ldexp_ le lerp
        less less_equal lgamma linspace load log log10 log10_ log1p log1p_ log2 log2_ log_ log_softmax logaddexp
        logaddexp2 logcumsumexp logdet logical_and logical_not logical_or logical_xor logit logit_ logspace
        logsumexp lstm lstm_cell lstsq lt lu lu_solve lu_unpack manual_seed margin_ranking_loss masked_fill
        masked_scatter masked_select matmul matrix_exp matrix_power matrix_rank max max_pool1d
        max_pool1d_with_indices max_pool2d max_pool3d maximum mean median meshgrid min minimum mm mode moveaxis
        movedim msort mul multinomial multiply mv mvlgamma nan_to_num nan_to_num_ nanmean nanmedian nanquantile
        nansum narrow ne neg neg_ negative negative_ nextafter nonzero nonzero_static norm norm_except_dim normal
        not_equal nuclear_norm numel ones ones_like orgqr ormqr outer pairwise_distance pca_lowrank pdist permute
        pinverse pixel_shuffle pixel_unshuffle poisson poisson_nll_loss polar polygamma positive pow prelu prod
        promote_types put qr quantile rad2deg rad2deg_ rand rand_like randint randint_like randn randn_like randperm
        range ravel real reciprocal reciprocal_ relu relu_ remainder renorm repeat_interleave reshape resize_as_
        resolve_conj resolve_neg result_type rms_norm rnn_relu rnn_relu_cell rnn_tanh rnn_tanh_cell roll rot90 round
        round_ row_stack rrelu rrelu_ rsqrt rsqrt_ rsub save scalar_tensor scatter scatter_add scatter_reduce
        searchsorted seed select select_scatter selu selu_ set_anomaly_enabled set_default_device set_default_dtype
        set_default_tensor_type set_deterministic_debug_mode set_float32_matmul_precision set_flush_denormal
        set_num_interop_threads set_num_threads set_printoptions set_rng_state set_warn_always sgn sigmoid sigmoid_
        sign signbit sin sin_ sinc sinc_ sinh sinh_ slice_scatter slogdet softmax solve sort sparse_coo_tensor split
        split_with_sizes spmm sqrt sqrt_ square square_ squeeze stack std std_mean stft sub subtract sum svd
        svd_lowrank swapaxes swapdims symeig t take take_along_dim tan tan_ tanh tanh_ tensor tensor_split tensordot
        threshold threshold_ tile to_dlpack topk trace transpose trapezoid trapz triangular_solve tril tril_indices
        triplet_margin_loss triu triu_indices true_divide trunc trunc_ typename unbind unflatten unique
        unique_consecutive unravel_index unsafe_chunk unsafe_split unsafe_split_with_sizes unsqueeze
        use_deterministic_algorithms var var_mean vdot view_as_complex view_as_real vmap vsplit vstack where xlogy
        xlogy_ zero_ zeros zeros_like
    """.split()),
    'torch.nn.functional': frozenset("""
        adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d
        adaptive_max_pool1d_with_indices adaptive_max_pool2d adaptive_max_pool2d_with_indices adaptive_max_pool3d
        adaptive_max_pool3d_with_indices affine_grid alpha_dropout avg_pool1d avg_pool2d avg_pool3d batch_norm
        bilinear binary_cross_entropy binary_cross_entropy_with_logits celu celu_ channel_shuffle conv1d conv2d
        conv3d conv_transpose1d conv_transpose2d conv_transpose3d cosine_embedding_loss cosine_similarity
        cross_entropy ctc_loss dropout dropout1d dropout2d dropout3d elu elu_ embedding embedding_bag
        feature_alpha_dropout fold fractional_max_pool2d fractional_max_pool2d_with_indices fractional_max_pool3d
        fractional_max_pool3d_with_indices gaussian_nll_loss gelu glu grid_sample group_norm gumbel_softmax
        hardshrink hardsigmoid hardswish hardtanh hardtanh_ hinge_embedding_loss huber_loss instance_norm
        interpolate kl_div l1_loss layer_norm leaky_relu leaky_relu_ linear linear_cross_entropy local_response_norm
        log_softmax logsigmoid lp_pool1d lp_pool2d lp_pool3d margin_ranking_loss max_pool1d max_pool1d_with_indices
        max_pool2d max_pool2d_with_indices max_pool3d max_pool3d_with_indices max_unpool1d max_unpool2d max_unpool3d
        mish mse_loss multi_head_attention_forward multi_margin_loss multilabel_margin_loss
        multilabel_soft_margin_loss native_channel_shuffle nll_loss normalize one_hot pad pairwise_distance pdist
        pixel_shuffle pixel_unshuffle poisson_nll_loss prelu relu relu6 relu_ rms_norm rrelu rrelu_
        scaled_dot_product_attention selu selu_ sigmoid silu smooth_l1_loss soft_margin_loss softmax softmin
        softplus softshrink softsign tanh tanhshrink threshold threshold_ triplet_margin_loss
        triplet_margin_with_distance_loss unfold upsample upsample_bilinear upsample_nearest
    """.split()),
    'torch.special': frozenset("""
        airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t chebyshev_polynomial_u
        chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf erfc erfcx erfinv exp2 expit expm1 gammainc
        gammaincc gammaln hermite_polynomial_h hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l
        legendre_polynomial_p log1p log_ndtr log_softmax logit logsumexp modified_bessel_i0 modified_bessel_i1
        modified_bessel_k0 modified_bessel_k1 multigammaln ndtr ndtri polygamma psi round scaled_modified_bessel_k0
        scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u
        shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc softmax spherical_bessel_j0 xlog1py xlogy
        zeta
    """.split()),
    'torch.linalg': frozenset("""
        cholesky cholesky_ex cond cross det diagonal eig eigh eigvals eigvalsh householder_product inv inv_ex
        ldl_factor ldl_factor_ex ldl_solve lstsq lu lu_factor lu_factor_ex lu_solve matmul matrix_exp matrix_norm
        matrix_power matrix_rank multi_dot norm pinv qr slogdet solve solve_ex solve_triangular svd svdvals
        tensorinv tensorsolve vander vecdot vector_norm
    """.split()),
}
