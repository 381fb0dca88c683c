#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/* glibc's SIGRTMIN (the kernel's 32 and 33 belong to NPTL): the core's vCPU kick. */
#define KICK_SIGNAL 34

static const struct sbx_rule core[] = {
    SBX_IOCTL(KVM_GET_API_VERSION, "vm_create checks the KVM API"),
    SBX_IOCTL(KVM_CHECK_EXTENSION, "capability probes (TSC deadline, ...)"),
    SBX_IOCTL(KVM_CREATE_VM, "the VM is created after the jail"),
    SBX_IOCTL(KVM_GET_VCPU_MMAP_SIZE, "size of each kvm_run mapping"),
    SBX_IOCTL(KVM_GET_SUPPORTED_CPUID, "the CPUID table starts from what KVM supports"),
    SBX_IOCTL(KVM_SET_TSS_ADDR, "VM setup (real-mode TSS / EPT identity map)"),
    SBX_IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "VM setup (real-mode TSS / EPT identity map)"),
    SBX_IOCTL(KVM_CREATE_IRQCHIP, "in-kernel LAPIC, IOAPIC, PIC"),
    SBX_IOCTL(KVM_SET_USER_MEMORY_REGION, "guest RAM slots"),
#ifdef KVM_SET_USER_MEMORY_REGION2
    SBX_IOCTL(KVM_SET_USER_MEMORY_REGION2, "guest RAM slots with the memfd"),
#endif
    SBX_IOCTL(KVM_CREATE_VCPU, "vCPUs are created after the jail"),
    SBX_IOCTL(KVM_SET_CPUID2, "per-vCPU CPUID"),
    SBX_IOCTL(KVM_GET_MSRS, "feature MSR probe and vCPU reset"),
    SBX_IOCTL(KVM_SET_MSRS, "vCPU reset"),
    SBX_IOCTL(KVM_GET_REGS, "vCPU reset"),
    SBX_IOCTL(KVM_SET_REGS, "vCPU reset"),
    SBX_IOCTL(KVM_GET_SREGS, "vCPU reset"),
    SBX_IOCTL(KVM_SET_SREGS, "vCPU reset"),
    SBX_IOCTL(KVM_SET_FPU, "vCPU reset"),
    SBX_IOCTL(KVM_SET_VCPU_EVENTS, "vCPU reset: drop exceptions/interrupts pending from before"),
    SBX_IOCTL(KVM_SET_XCRS, "vCPU reset: XCR0 back to x87 only"),
    SBX_IOCTL(KVM_GET_LAPIC, "vCPU reset: LINT0/LINT1 setup"),
    SBX_IOCTL(KVM_SET_LAPIC, "vCPU reset: LINT0/LINT1 setup"),
    SBX_IOCTL(KVM_SET_MP_STATE, "APs wait for INIT/SIPI"),
    SBX_IOCTL(KVM_GET_TSC_KHZ, "TSC frequency CPUID leaf"),
    SBX_IOCTL(KVM_GET_IRQCHIP, "irqchip reset on guest reboot"),
    SBX_IOCTL(KVM_SET_IRQCHIP, "irqchip reset on guest reboot"),
    SBX_IOCTL(KVM_IRQ_LINE, "serial and GED interrupts"),
    SBX_IOCTL(KVM_RUN, "vCPU threads (their own filter narrows the rest away)"),
    SBX_IOCTL(KVM_SET_GSI_ROUTING, "MSI routes of virtio-pci devices"),
    SBX_IOCTL(KVM_IRQFD, "vhost-user call eventfds inject MSIs directly"),
    SBX_IOCTL(KVM_IOEVENTFD, "queue-notify writes signal the kick eventfds directly"),
    SBX_IOCTL(KVM_REGISTER_COALESCED_MMIO, "COM1's data register writes wait in a ring"),
    SBX_IOCTL(KVM_SIGNAL_MSI, "re-injection of a pending MSI-X vector on unmask"),
    SBX_IOCTL(KVM_NMI, "vm.nmi: queued on each vCPU by the VM thread while the vCPUs are stopped"),
    SBX_IOCTL(KVM_GET_CLOCK, "guest clock stops across pause"),
    SBX_IOCTL(KVM_SET_CLOCK, "guest clock stops across pause"),
    SBX_IOCTL(KVM_GET_MSR_INDEX_LIST, "vm.snapshot: the MSRs KVM saves and restores"),
    SBX_IOCTL(KVM_GET_XSAVE, "vm.snapshot: FPU, SSE and AVX state of each vCPU"),
    SBX_IOCTL(KVM_SET_XSAVE, "vm.restore: FPU, SSE and AVX state of each vCPU"),
    SBX_IOCTL(KVM_GET_XCRS, "vm.snapshot: XCR0 of each vCPU"),
    SBX_IOCTL(KVM_GET_VCPU_EVENTS, "vm.snapshot: pending exceptions, interrupts, NMIs"),
    SBX_IOCTL(KVM_GET_MP_STATE, "vm.snapshot: whether each vCPU runs, halts or waits for SIPI"),
    SBX_IOCTL(KVM_GET_DEBUGREGS, "vm.snapshot: debug registers of each vCPU"),
    SBX_IOCTL(KVM_SET_DEBUGREGS, "vm.restore: debug registers of each vCPU"),
    SBX_IOCTL(KVM_GET_DIRTY_LOG, "live migration: the pages vCPUs wrote since the last pass"),
    SBX_ALLOW(pwrite64, "vm.snapshot: guest RAM into the memory-ranges fd the controller opened"),
    SBX_ALLOW(eventfd2, "VM event fd, serial stop fd, kick/call eventfds"),
    SBX_ALLOW(pread64, "kernel and initramfs are read again on every guest reboot"),
    SBX_ALLOW1(tgkill, SBX_ARG(2, SCMP_CMP_EQ, KICK_SIGNAL, 0),
               "the kick signal takes a vCPU thread out of KVM_RUN"),
    SBX_ALLOW(sched_setaffinity, "--cpus affinity pins vCPU threads"),
    SBX_ALLOW(recvfrom, "vhost-user replies: the payload read after its header (recv)"),
    SBX_ALLOW1(socketpair, SBX_ARG(0, SCMP_CMP_EQ, AF_UNIX, 0),
               "the vhost-user backend channel (SET_BACKEND_REQ_FD) of each device"),
    SBX_ALLOW1(shutdown, SBX_ARG(1, SCMP_CMP_EQ, SHUT_RD, 0),
               "the main thread ends the control thread's read at VM end"),
    SBX_ALLOW1(seccomp, SBX_ARG(0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0),
               "each vCPU thread stacks its narrower filter"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a vfio-user server that stops answering times out instead of hanging a vCPU"),
    SBX_ALLOW1(fallocate, SBX_ARG(1, SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0),
               "virtio-mem: an unplugged block goes back to the host (hole punched in the "
               "region's memfd, its size kept)"),
    SBX_ALLOW(fdatasync, "virtio-pmem: a FLUSH request makes the mapped file durable"),
    SBX_ALLOW1(memfd_create, SBX_ARG(1, SCMP_CMP_EQ, MFD_CLOEXEC | MFD_ALLOW_SEALING, 0),
               "live migration: the dirty log shared with the device processes (SET_LOG_BASE)"),
    SBX_ALLOW(ftruncate, "live migration: sizing the dirty log's memfd; vm.snapshot: "
                         "memory-ranges gets its full size past its last data"),
    SBX_ALLOW1(madvise, SBX_ARG(2, SCMP_CMP_EQ, 23 /* MADV_POPULATE_WRITE */, 0),
               "vm.restore: the stretches of guest RAM memory-ranges fills are populated in one "
               "call instead of a page fault per page"),
    SBX_ALLOW1(lseek, SBX_ARG(2, SCMP_CMP_GE, SEEK_DATA, 0),
               "vm.snapshot, vm.restore, migration: SEEK_DATA/SEEK_HOLE find the guest RAM "
               "that holds data, so untouched pages are neither read nor allocated"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_ADD_SEALS, 0),
               "live migration: the dirty log sealed against shrinking, as backends require"),
    SBX_ERRNO(openat, ENOENT,
              "no file is opened; glibc's own probes fail softly (a thread's malloc arena that "
              "shrinks reads /proc/sys/vm/overcommit_memory once: after vm.snapshot's large "
              "buffers were freed, that open killed the core)"),
};

const struct sbx_rule_table sbx_rules_core = { core, sizeof(core) / sizeof(core[0]) };

static const struct sbx_rule vcpu[] = {
    SBX_IOCTL(KVM_RUN, "the vCPU loop"),
    SBX_IOCTL(KVM_IRQ_LINE, "the serial port raises IRQ 4 from the exit path"),
    SBX_IOCTL(KVM_SIGNAL_MSI, "a virtio-pci MSI-X unmask re-injects a pending vector"),
    SBX_IOCTL(KVM_IRQFD, "an MSI-X mask or vector change rebinds a call eventfd"),
    SBX_IOCTL(KVM_IOEVENTFD, "queue enable or a BAR move registers a notify address"),
    SBX_IOCTL(KVM_SET_GSI_ROUTING, "an MSI-X table write changes a vector's route"),
    SBX_IOCTL(KVM_SET_USER_MEMORY_REGION,
              "a passed-through BAR that moves or stops decoding moves its memory slots"),
    SBX_ALLOW(sendmsg, "trapped accesses to a passed-through device go to vfiod (vfio-user)"),
    SBX_ALLOW(recvmsg, "vfio-user replies to those accesses"),
    SBX_ALLOW(read, "a masked passed-through vector's eventfd is read on unmask and PBA read"),
    SBX_ALLOW(close, "fds a vfio-user server attaches to a reply are closed, not kept"),
    SBX_ALLOW(write, "serial output, VM events on the eventfd, log lines"),
    SBX_ALLOW(futex, "locks shared with the main thread (UART)"),
    SBX_ALLOW(rt_sigreturn, "return from the kick handler"),
    SBX_ALLOW(rt_sigprocmask, "glibc blocks signals while the thread exits"),
    SBX_ALLOW(restart_syscall, "a wait interrupted by the kick resumes"),
    SBX_ALLOW(clock_gettime, "RTC reads and log time stamps (vDSO fallback)"),
    SBX_ALLOW(gettid, "allowed everywhere, as Cloud Hypervisor"),
    SBX_ALLOW(getpid, "log lines name the process"),
    SBX_ALLOW1(madvise, SBX_ARG(2, SCMP_CMP_EQ, MADV_DONTNEED, 0),
               "glibc releases the stack when the thread exits"),
    SBX_ALLOW1(mmap, SBX_ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
               "a first malloc in this thread creates its arena; never executable"),
    SBX_ALLOW1(mprotect, SBX_ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
               "malloc arena growth; never executable"),
    SBX_ALLOW(munmap, "malloc arena trimming"),
    SBX_ERRNO(openat, ENOENT, "malloc arena trimming probes a /proc file once; fails softly"),
    SBX_ALLOW(exit, "the thread returns when the VM stops"),
    SBX_ALLOW1(tgkill, SBX_ARG(2, SCMP_CMP_EQ, SIGABRT, 0), "abort() on a broken invariant"),
};

const struct sbx_rule_table sbx_rules_vcpu = { vcpu, sizeof(vcpu) / sizeof(vcpu[0]) };
