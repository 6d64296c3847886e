/* machine.c — the machine record of machine.h, from the hwloc 2.x topology
 * API, with a sysconf + /proc/cpuinfo fallback when hwloc cannot load one.
 * Leaves out: CPU frequency (not in hwloc's topology), GPU memory and clocks
 * (hwloc reports what its plugins find: DRM cards, CUDA/NVML/OpenCL devices
 * when those plugins are installed).
 */
#include "machine.h"

#include <hwloc.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Weak: the script-side tools (hgbench-manifest, hgbench-runs) link io/
 * without the CPU backend and OpenBLAS; there both are NULL. */
__attribute__((weak)) const char *blas_core_name(void);
__attribute__((weak)) const char *blas_core_source(void);

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* "model name : AMD EPYC" -> "AMD EPYC"; empty if not found. */
static void cpuinfo_model(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *colon = strchr(line, ':');
        if (!colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        copy_str(out, cap, colon);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

static void probe_fallback(Machine *m)
{
    copy_str(m->source, sizeof m->source, "fallback (sysconf, /proc/cpuinfo)");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m->pus = n > 0 ? (int)n : 0;
    m->cores = 0; /* unknown without a topology: SMT cannot be told apart */
}

static void add_gpu(Machine *m, const char *what)
{
    if (m->ngpus < MACHINE_MAX_DEVICES)
        copy_str(m->gpus[m->ngpus++], sizeof m->gpus[0], what);
}

/* GPUs and coprocessors as "name (model)", every other OS device as
 * "type:name". A PCI display controller without any GPU OS device (no
 * driver loaded) is listed as a GPU by its PCI ids. */
static void probe_devices(Machine *m, hwloc_topology_t topo)
{
    for (hwloc_obj_t o = hwloc_get_next_osdev(topo, NULL); o;
         o = hwloc_get_next_osdev(topo, o)) {
        hwloc_obj_osdev_type_t t = o->attr->osdev.type;
        if (t == HWLOC_OBJ_OSDEV_GPU || t == HWLOC_OBJ_OSDEV_COPROC) {
            const char *model = hwloc_obj_get_info_by_name(o, "GPUModel");
            if (!model) model = hwloc_obj_get_info_by_name(o, "CoProcType");
            if (!model && o->parent && o->parent->type == HWLOC_OBJ_PCI_DEVICE)
                model = hwloc_obj_get_info_by_name(o->parent, "PCIDevice");
            char buf[96];
            snprintf(buf, sizeof buf, "%s%s%s%s", o->name ? o->name : "?",
                     model ? " (" : "", model ? model : "", model ? ")" : "");
            add_gpu(m, buf);
        } else if (m->nosdevs < MACHINE_MAX_DEVICES) {
            char type[16];
            hwloc_obj_type_snprintf(type, sizeof type, o, 0);
            snprintf(m->osdevs[m->nosdevs++], sizeof m->osdevs[0], "%s:%s", type,
                     o->name ? o->name : "?");
        }
    }
    for (hwloc_obj_t p = hwloc_get_next_pcidev(topo, NULL); p;
         p = hwloc_get_next_pcidev(topo, p)) {
        if ((p->attr->pcidev.class_id >> 8) != 0x03) continue; /* display class */
        int has_gpu_osdev = 0;
        for (hwloc_obj_t c = p->io_first_child; c; c = c->next_sibling)
            if (c->type == HWLOC_OBJ_OS_DEVICE &&
                (c->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU ||
                 c->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC))
                has_gpu_osdev = 1;
        if (has_gpu_osdev) continue;
        char buf[96];
        const char *name = hwloc_obj_get_info_by_name(p, "PCIDevice");
        snprintf(buf, sizeof buf, "PCI %04x:%02x:%02x.%x [%04x:%04x]%s%s (no driver device)",
                 p->attr->pcidev.domain, p->attr->pcidev.bus, p->attr->pcidev.dev,
                 p->attr->pcidev.func, p->attr->pcidev.vendor_id,
                 p->attr->pcidev.device_id, name ? " " : "", name ? name : "");
        add_gpu(m, buf);
    }
}

static int probe_hwloc(Machine *m)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) < 0) return -1;
    /* I/O objects are filtered out by default; keep GPUs, NICs, disks. */
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (hwloc_topology_load(topo) < 0) {
        hwloc_topology_destroy(topo);
        return -1;
    }
#ifdef HWLOC_VERSION
    snprintf(m->source, sizeof m->source, "hwloc %s", HWLOC_VERSION);
#else
    unsigned v = hwloc_get_api_version();
    snprintf(m->source, sizeof m->source, "hwloc (API %u.%u.%u)", v >> 16,
             (v >> 8) & 0xff, v & 0xff);
#endif

    int n;
    m->packages = (n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE)) > 0 ? n : 0;
    m->cores = (n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)) > 0 ? n : 0;
    m->pus = (n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)) > 0 ? n : 0;
    m->numa_nodes = (n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE)) > 0 ? n : 0;
    m->numa_memory_bytes = (double)hwloc_get_root_obj(topo)->total_memory;

    hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
    const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
    if (!model) model = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "CPUModel");
    if (model) copy_str(m->cpu, sizeof m->cpu, model);

    static const hwloc_obj_type_t cache_types[3] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
                                                    HWLOC_OBJ_L3CACHE};
    for (int i = 0; i < 3; i++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(topo, cache_types[i], 0);
        n = hwloc_get_nbobjs_by_type(topo, cache_types[i]);
        m->cache[i].size = c ? (long)c->attr->cache.size : 0;
        m->cache[i].count = n > 0 ? n : 0;
    }
    probe_devices(m, topo);
    hwloc_topology_destroy(topo);
    return 0;
}

void machine_probe(Machine *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 3; i++) m->cache[i].level = i + 1;
    if (gethostname(m->host, sizeof m->host) != 0) m->host[0] = '\0';
    m->host[sizeof m->host - 1] = '\0';
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) m->memory_bytes = (double)pages * (double)page;
    if (probe_hwloc(m) != 0) probe_fallback(m);
    if (!m->cpu[0]) cpuinfo_model(m->cpu, sizeof m->cpu);
    if (!m->cpu[0]) copy_str(m->cpu, sizeof m->cpu, "unknown");
    if (blas_core_name && blas_core_source) {
        copy_str(m->blas_core, sizeof m->blas_core, blas_core_name());
        copy_str(m->blas_core_source, sizeof m->blas_core_source, blas_core_source());
    }
}

/* 32768 -> "32 KiB", 1.5 GiB -> "1.5 GiB". */
static void human_bytes(char *out, size_t cap, double b)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (b == (double)(long)b)
        snprintf(out, cap, "%ld %s", (long)b, unit[u]);
    else
        snprintf(out, cap, "%.1f %s", b, unit[u]);
}

void machine_print(const Machine *m, FILE *f, const char *prefix)
{
    char buf[64];
    fprintf(f, "%shost: %s\n", prefix, m->host[0] ? m->host : "unknown");
    fprintf(f, "%scpu: %s\n", prefix, m->cpu);
    fprintf(f, "%scores: %d cores, %d PUs, %d package%s%s\n", prefix, m->cores, m->pus,
            m->packages, m->packages == 1 ? "" : "s",
            m->cores ? "" : " (cores unknown: 0)");
    fprintf(f, "%scaches:", prefix);
    int any = 0;
    for (int i = 0; i < 3; i++) {
        if (!m->cache[i].size) continue;
        human_bytes(buf, sizeof buf, (double)m->cache[i].size);
        fprintf(f, "%s L%d%s %s x%d", any ? "," : "", m->cache[i].level,
                i == 0 ? "d" : "", buf, m->cache[i].count);
        any = 1;
    }
    fprintf(f, "%s\n", any ? "" : " unknown");
    human_bytes(buf, sizeof buf, m->numa_memory_bytes);
    fprintf(f, "%snuma nodes: %d (%s in NUMA nodes)\n", prefix, m->numa_nodes,
            m->numa_memory_bytes > 0 ? buf : "memory unknown");
    human_bytes(buf, sizeof buf, m->memory_bytes);
    fprintf(f, "%smemory: %s\n", prefix, m->memory_bytes > 0 ? buf : "unknown");
    fprintf(f, "%sgpus:", prefix);
    for (int i = 0; i < m->ngpus; i++) fprintf(f, "%s %s", i ? "," : "", m->gpus[i]);
    fprintf(f, "%s\n", m->ngpus ? "" : " none reported");
    fprintf(f, "%sos devices:", prefix);
    for (int i = 0; i < m->nosdevs; i++) fprintf(f, "%s %s", i ? "," : "", m->osdevs[i]);
    fprintf(f, "%s\n", m->nosdevs ? "" : " none reported");
    fprintf(f, "%stopology source: %s\n", prefix, m->source);
    if (m->blas_core[0])
        fprintf(f, "%sopenblas core: %s, chosen by %s\n", prefix, m->blas_core,
                m->blas_core_source);
}
