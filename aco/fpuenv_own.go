//go:build !aco_share_fpu_env

package aco

// sharedFPUEnv reports whether all coroutines share one FPU environment
// (the aco_share_fpu_env build tag, libaco's ACO_CONFIG_SHARE_FPU_MXCSR_ENV).
const sharedFPUEnv = false
