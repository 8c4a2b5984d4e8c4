/*
 * nokcmp - run a program where kcmp(2) fails with EPERM, as under a
 * container's seccomp profile, so that adoption's fallback (the socket
 * inode alone) is what decides.
 *
 *	nokcmp PROGRAM [ARGS...]
 *
 * A seccomp filter (after PR_SET_NO_NEW_PRIVS, which LD_PRELOAD survives)
 * answers kcmp with EPERM and lets every other call through; then
 * PROGRAM is executed.  It checks that the filter holds before the exec.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kcmp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(f) / sizeof(f[0]),
		.filter = f,
	};
	pid_t pid = getpid();

	if (argc < 2) {
		fprintf(stderr, "usage: nokcmp PROGRAM [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("nokcmp: seccomp filter");
		return 1;
	}
	if (syscall(SYS_kcmp, pid, pid, 0, 0, 0) != -1 || errno != EPERM) {
		fprintf(stderr, "nokcmp: kcmp is not refused\n");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("nokcmp: exec");
	return 127;
}
