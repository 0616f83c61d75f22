// SPDX-License-Identifier: MIT
/* Per-hook twin choice from the kernel's BTF (see hookchoice.h). Like libbpf-tools, the
 * decision is made before load from what the kernel says about itself, not by loading and
 * watching what fails: a failed tp_btf load names one program but fails the whole object. */
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "sources/hookchoice.h"

/* What each tp_btf twin reads (bpf/amexbpf.bpf.c): the leading arguments after the
 * tracepoint's own `void *__data`. */
enum arg_type { ARG_END = 0, ARG_TASK, ARG_INT, ARG_SIGINFO, ARG_SOCK };
#define MAX_ARGS 5

static const struct {
	const char *name, *tracepoint;
	enum arg_type args[MAX_ARGS];
} hooks[AMX_HOOK_COUNT] = {
	[AMX_HOOK_EXIT] = { "exit", "sched_process_exit", { ARG_TASK } },
	[AMX_HOOK_FORK] = { "fork", "sched_process_fork", { ARG_TASK, ARG_TASK } },
	[AMX_HOOK_EXEC] = { "exec", "sched_process_exec", { ARG_TASK } },
	[AMX_HOOK_OOM] = { "oom", "mark_victim", { ARG_TASK, ARG_INT } },
	[AMX_HOOK_LISTEN] = { "listen", "inet_sock_set_state", { ARG_SOCK, ARG_INT, ARG_INT } },
	/* Its own check: a kernel that changed signal_generate must not take the exit hook
	 * (which only reads a task) down with it, nor be loaded as tp_btf on the exit
	 * hook's word. */
	[AMX_HOOK_SIGNAL] = { "signal", "signal_generate",
			      { ARG_INT, ARG_SIGINFO, ARG_TASK, ARG_INT, ARG_INT } },
};

const char *amx_hook_name(enum amx_hook hook)
{
	return hook < AMX_HOOK_COUNT ? hooks[hook].name : "?";
}

const char *amx_hook_tracepoint(enum amx_hook hook)
{
	return hook < AMX_HOOK_COUNT ? hooks[hook].tracepoint : "?";
}

const char *amx_hook_kind_name(enum amx_hook_kind kind)
{
	return kind == AMX_KIND_TP_BTF ? "tp_btf" : "raw_tp";
}

/* The function prototype behind `typedef void (*btf_trace_<tp>)(void *, ...)`, or NULL. */
static const struct btf_type *trace_proto(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	__s32 id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return NULL;
	id = btf__resolve_type(btf, (__u32)id); /* through the typedef: the pointer */
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	if (!t || !btf_is_ptr(t))
		return NULL;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) ? t : NULL;
}

/* type_id (through typedefs and modifiers) is an `enum arg_type`. */
static bool arg_is(const struct btf *btf, __u32 type_id, enum arg_type want)
{
	__s32 id = btf__resolve_type(btf, type_id);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	const char *want_struct = want == ARG_SIGINFO ? "kernel_siginfo"
				  : want == ARG_SOCK  ? "sock"
						      : "task_struct";

	if (!t)
		return false;
	if (want == ARG_INT)
		return btf_is_int(t) || btf_is_enum(t);
	if (!btf_is_ptr(t))
		return false;
	id = btf__resolve_type(btf, t->type);
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	return t && btf_is_struct(t) && strcmp(btf__name_by_offset(btf, t->name_off), want_struct) == 0;
}

static bool proto_fits(const struct btf *btf, const struct btf_type *proto, enum amx_hook hook)
{
	const struct btf_param *p = btf_params(proto);
	int n = btf_vlen(proto);

	for (int i = 0; i < MAX_ARGS && hooks[hook].args[i] != ARG_END; i++)
		if (i + 1 >= n || !arg_is(btf, p[i + 1].type, hooks[hook].args[i]))
			return false;
	return true;
}

void amx_hook_choose(const struct btf *vmlinux, struct amx_hook_choice *out)
{
	memset(out, 0, sizeof(*out));
	for (int h = 0; h < AMX_HOOK_COUNT; h++) {
		const struct btf_type *proto = vmlinux ? trace_proto(vmlinux, hooks[h].tracepoint) : NULL;

		out->kind[h] = proto && proto_fits(vmlinux, proto, (enum amx_hook)h) ? AMX_KIND_TP_BTF
										     : AMX_KIND_RAW_TP;
		/* mark_victim(int pid): the raw_tp twin's first argument is a pid. Without a
		 * prototype at all, the raw_tp twin tells a pid from a task pointer itself. */
		if (h == AMX_HOOK_OOM && proto && btf_vlen(proto) >= 2 &&
		    arg_is(vmlinux, btf_params(proto)[1].type, ARG_INT))
			out->oom_pid_only = true;
	}
}

int amx_hook_force_raw(struct amx_hook_choice *c, const char *list)
{
	enum amx_hook_kind kind[AMX_HOOK_COUNT];
	const char *s = list;

	memcpy(kind, c->kind, sizeof(kind));
	while (s && *s) {
		size_t len = strcspn(s, ",");
		bool known = false;

		for (int h = 0; h < AMX_HOOK_COUNT; h++) {
			if ((len == 3 && strncmp(s, "all", 3) == 0) ||
			    (strlen(hooks[h].name) == len && strncmp(s, hooks[h].name, len) == 0)) {
				kind[h] = AMX_KIND_RAW_TP;
				known = true;
			}
		}
		if (!known && len > 0)
			return -1;
		s += len;
		if (*s == ',')
			s++;
	}
	memcpy(c->kind, kind, sizeof(kind));
	return 0;
}

const char *amx_hook_choice_summary(const struct amx_hook_choice *c, char *buf, int len)
{
	const char *pid_only = c->oom_pid_only ? " (oom: pid only)" : "";
	int off = 0, n[2] = { 0, 0 };

	for (int h = 0; h < AMX_HOOK_COUNT; h++)
		n[c->kind[h]]++;
	if (n[AMX_KIND_TP_BTF] == AMX_HOOK_COUNT || n[AMX_KIND_RAW_TP] == AMX_HOOK_COUNT) {
		snprintf(buf, (size_t)len, "%s%s", amx_hook_kind_name(c->kind[0]), pid_only);
		return buf;
	}
	buf[0] = '\0';
	for (int k = AMX_KIND_TP_BTF; k <= AMX_KIND_RAW_TP; k++) {
		int listed = 0;

		for (int h = 0; h < AMX_HOOK_COUNT && off < len; h++)
			if (c->kind[h] == (enum amx_hook_kind)k)
				off += snprintf(buf + off, (size_t)(len - off), "%s%s",
						listed++ ? "," : (off ? " " : ""), hooks[h].name);
		if (listed && off < len)
			off += snprintf(buf + off, (size_t)(len - off), "=%s",
					amx_hook_kind_name((enum amx_hook_kind)k));
	}
	if (off < len)
		snprintf(buf + off, (size_t)(len - off), "%s", pid_only);
	return buf;
}
