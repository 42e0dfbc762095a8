/*
 * Prints the layout of every public struct of ddgan.h as the C compiler sees
 * it, one line per struct ("S name sizeof alignof") and per field
 * ("F struct field offsetof sizeof"). tests/python/test_struct_layout.py
 * compares it with the ctypes mirrors of the Python package (bindings/python).
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#include "ddgan/ddgan.h"

#define S(T) printf("S %s %zu %zu\n", #T, sizeof(T), alignof(T))
#define F(T, f) printf("F %s %s %zu %zu\n", #T, #f, offsetof(T, f), sizeof(((T *)0)->f))

int main(void)
{
    S(ddgan_backend_info);
    F(ddgan_backend_info, struct_size);
    F(ddgan_backend_info, name);
    F(ddgan_backend_info, description);
    F(ddgan_backend_info, available);
    F(ddgan_backend_info, score);
    F(ddgan_backend_info, reason);
    F(ddgan_backend_info, path);

    S(ddgan_context_config);
    F(ddgan_context_config, struct_size);
    F(ddgan_context_config, backend);
    F(ddgan_context_config, seed);
    F(ddgan_context_config, num_threads);
    F(ddgan_context_config, log_fn);
    F(ddgan_context_config, log_user);
    F(ddgan_context_config, log_level);
    F(ddgan_context_config, memory_limit);

    S(ddgan_schedule_config);
    F(ddgan_schedule_config, struct_size);
    F(ddgan_schedule_config, num_timesteps);
    F(ddgan_schedule_config, beta_min);
    F(ddgan_schedule_config, beta_max);
    F(ddgan_schedule_config, use_geometric);
    F(ddgan_schedule_config, kind);

    S(ddgan_model_summary);
    F(ddgan_model_summary, struct_size);
    F(ddgan_model_summary, num_params);
    F(ddgan_model_summary, num_tensors);
    F(ddgan_model_summary, gflops_per_image);

    S(ddgan_tensor_info);
    F(ddgan_tensor_info, struct_size);
    F(ddgan_tensor_info, name);
    F(ddgan_tensor_info, ndim);
    F(ddgan_tensor_info, shape);
    F(ddgan_tensor_info, numel);

    S(ddgan_discriminator_config);
    F(ddgan_discriminator_config, struct_size);
    F(ddgan_discriminator_config, cls);
    F(ddgan_discriminator_config, nc);
    F(ddgan_discriminator_config, ngf);
    F(ddgan_discriminator_config, t_emb_dim);
    F(ddgan_discriminator_config, image_size);
    F(ddgan_discriminator_config, data_dim);
    F(ddgan_discriminator_config, hidden_dim);
    F(ddgan_discriminator_config, n_hidden);
    F(ddgan_discriminator_config, lrelu_slope);

    S(ddgan_generator_config);
    F(ddgan_generator_config, struct_size);
    F(ddgan_generator_config, cls);
    F(ddgan_generator_config, image_size);
    F(ddgan_generator_config, num_channels);
    F(ddgan_generator_config, num_channels_dae);
    F(ddgan_generator_config, ch_mult);
    F(ddgan_generator_config, ch_mult_len);
    F(ddgan_generator_config, num_res_blocks);
    F(ddgan_generator_config, attn_resolutions);
    F(ddgan_generator_config, attn_resolutions_len);
    F(ddgan_generator_config, nz);
    F(ddgan_generator_config, z_emb_dim);
    F(ddgan_generator_config, n_mlp);
    F(ddgan_generator_config, centered);
    F(ddgan_generator_config, not_use_tanh);
    F(ddgan_generator_config, conditional);
    F(ddgan_generator_config, fir);
    F(ddgan_generator_config, fir_kernel);
    F(ddgan_generator_config, fir_kernel_len);
    F(ddgan_generator_config, skip_rescale);
    F(ddgan_generator_config, resamp_with_conv);
    F(ddgan_generator_config, dropout);
    F(ddgan_generator_config, resblock_type);
    F(ddgan_generator_config, progressive);
    F(ddgan_generator_config, progressive_input);
    F(ddgan_generator_config, progressive_combine);
    F(ddgan_generator_config, embedding_type);
    F(ddgan_generator_config, num_timesteps);
    F(ddgan_generator_config, beta_min);
    F(ddgan_generator_config, beta_max);
    F(ddgan_generator_config, use_geometric);
    F(ddgan_generator_config, data_dim);
    F(ddgan_generator_config, hidden_dim);
    F(ddgan_generator_config, n_hidden);
    F(ddgan_generator_config, t_emb_dim);
    F(ddgan_generator_config, lrelu_slope);
    F(ddgan_generator_config, data_scale);

    S(ddgan_trainer_config);
    F(ddgan_trainer_config, struct_size);
    F(ddgan_trainer_config, batch_size);
    F(ddgan_trainer_config, lr_g);
    F(ddgan_trainer_config, lr_d);
    F(ddgan_trainer_config, beta1);
    F(ddgan_trainer_config, beta2);
    F(ddgan_trainer_config, adam_eps);
    F(ddgan_trainer_config, r1_gamma);
    F(ddgan_trainer_config, lazy_reg);
    F(ddgan_trainer_config, use_ema);
    F(ddgan_trainer_config, ema_decay);
    F(ddgan_trainer_config, lr_schedule);
    F(ddgan_trainer_config, eta_min);
    F(ddgan_trainer_config, num_epoch);
    F(ddgan_trainer_config, steps_per_epoch);
    F(ddgan_trainer_config, seed);
    F(ddgan_trainer_config, skip_nonfinite);

    S(ddgan_step_stats);
    F(ddgan_step_stats, struct_size);
    F(ddgan_step_stats, err_d);
    F(ddgan_step_stats, err_d_real);
    F(ddgan_step_stats, err_d_fake);
    F(ddgan_step_stats, err_g);
    F(ddgan_step_stats, r1_penalty);
    F(ddgan_step_stats, d_real_mean);
    F(ddgan_step_stats, d_fake_mean);
    F(ddgan_step_stats, global_step);
    F(ddgan_step_stats, grad_norm_d);
    F(ddgan_step_stats, grad_norm_g);
    F(ddgan_step_stats, lr_d);
    F(ddgan_step_stats, lr_g);
    F(ddgan_step_stats, seconds);

    S(ddgan_step_draws);
    F(ddgan_step_draws, struct_size);
    F(ddgan_step_draws, d_t);
    F(ddgan_step_draws, d_eps_pair);
    F(ddgan_step_draws, d_eps_q);
    F(ddgan_step_draws, d_z);
    F(ddgan_step_draws, d_eps_post);
    F(ddgan_step_draws, g_t);
    F(ddgan_step_draws, g_eps_pair);
    F(ddgan_step_draws, g_eps_q);
    F(ddgan_step_draws, g_z);
    F(ddgan_step_draws, g_eps_post);

    S(ddgan_ddpm_trainer_config);
    F(ddgan_ddpm_trainer_config, struct_size);
    F(ddgan_ddpm_trainer_config, batch_size);
    F(ddgan_ddpm_trainer_config, lr);
    F(ddgan_ddpm_trainer_config, beta1);
    F(ddgan_ddpm_trainer_config, beta2);
    F(ddgan_ddpm_trainer_config, adam_eps);
    F(ddgan_ddpm_trainer_config, warmup);
    F(ddgan_ddpm_trainer_config, grad_clip);
    F(ddgan_ddpm_trainer_config, use_ema);
    F(ddgan_ddpm_trainer_config, ema_decay);
    F(ddgan_ddpm_trainer_config, seed);
    F(ddgan_ddpm_trainer_config, skip_nonfinite);

    S(ddgan_dataset_config);
    F(ddgan_dataset_config, struct_size);
    F(ddgan_dataset_config, kind);
    F(ddgan_dataset_config, path);
    F(ddgan_dataset_config, labels_path);
    F(ddgan_dataset_config, paths);
    F(ddgan_dataset_config, num_paths);
    F(ddgan_dataset_config, idx_prefix);
    F(ddgan_dataset_config, split);
    F(ddgan_dataset_config, transpose);
    F(ddgan_dataset_config, channels);
    F(ddgan_dataset_config, image_size);
    F(ddgan_dataset_config, resize);
    F(ddgan_dataset_config, lazy);
    F(ddgan_dataset_config, pad);
    F(ddgan_dataset_config, hflip);
    F(ddgan_dataset_config, shuffle);
    F(ddgan_dataset_config, seed);
    F(ddgan_dataset_config, data_seed);
    F(ddgan_dataset_config, num_examples);
    F(ddgan_dataset_config, radius);
    F(ddgan_dataset_config, sigma);

    S(ddgan_toy_metrics);
    F(ddgan_toy_metrics, struct_size);
    F(ddgan_toy_metrics, num_modes);
    F(ddgan_toy_metrics, modes);
    F(ddgan_toy_metrics, hq_fraction);
    F(ddgan_toy_metrics, reverse_kl);
    F(ddgan_toy_metrics, num_samples);
    F(ddgan_toy_metrics, num_hq);
    F(ddgan_toy_metrics, mode_counts);

    S(ddgan_classifier_config);
    F(ddgan_classifier_config, struct_size);
    F(ddgan_classifier_config, epochs);
    F(ddgan_classifier_config, batch_size);
    F(ddgan_classifier_config, lr);
    F(ddgan_classifier_config, beta1);
    F(ddgan_classifier_config, beta2);
    F(ddgan_classifier_config, adam_eps);
    F(ddgan_classifier_config, max_shift);
    F(ddgan_classifier_config, seed);
    F(ddgan_classifier_config, width);
    F(ddgan_classifier_config, hidden);

    S(ddgan_stacked_metrics);
    F(ddgan_stacked_metrics, struct_size);
    F(ddgan_stacked_metrics, modes);
    F(ddgan_stacked_metrics, kl);
    F(ddgan_stacked_metrics, num_samples);

    S(ddgan_image_metrics);
    F(ddgan_image_metrics, struct_size);
    F(ddgan_image_metrics, frechet);
    F(ddgan_image_metrics, precision);
    F(ddgan_image_metrics, recall);
    F(ddgan_image_metrics, feature_dim);
    return 0;
}
