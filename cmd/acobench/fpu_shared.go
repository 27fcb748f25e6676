//go:build aco_share_fpu_env

package main

// sharedFPUEnv reports whether this binary was built with -tags
// aco_share_fpu_env (aco's coroutines then share one FPU/MXCSR environment,
// libaco's ACO_CONFIG_SHARE_FPU_MXCSR_ENV).
const sharedFPUEnv = true
