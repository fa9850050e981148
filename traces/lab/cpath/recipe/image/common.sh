# sourced by run-*.sh
EVENTS_K="sched_*,irq_*,softirq_*,timer_*,kvm_*,block_*,net_*,netif_*,napi_*,skb_*,lttng_statedump_*,x86_irq_vectors_*,power_cpu_idle,signal_*,lttng_logger"
# lean set (no syscalls, no kvm_mmu/fpu/emulate/mmio detail) for the outer host in the nested scenario
EVENTS_LEAN="sched_switch,sched_waking,sched_wakeup,sched_wakeup_new,sched_process_fork,sched_process_exec,sched_process_exit,sched_process_free,irq_handler_entry,irq_handler_exit,irq_softirq_entry,irq_softirq_exit,irq_softirq_raise,timer_hrtimer_expire_entry,timer_hrtimer_expire_exit,kvm_x86_entry,kvm_x86_exit,kvm_x86_nested_*,kvm_x86_inj_virq,kvm_x86_apic_accept_irq,kvm_x86_hypercall,kvm_x86_pio,kvm_x86_msr,kvm_x86_apic_ipi,kvm_msi_set_irq,kvm_set_irq,kvm_userspace_exit,kvm_vcpu_wakeup,block_rq_issue,block_rq_complete,net_dev_queue,net_if_receive_skb,lttng_statedump_*,lttng_logger"
# cpath (critical path) host additions to EVENTS_LEAN: every block event (the host disk under the
# guest's virtio-blk reads), the kvm MMIO (virtio kick), EOI and IOAPIC probes
EVENTS_CPATH_EXTRA="block_*,kvm_mmio,kvm_x86_eoi,kvm_ioapic_set_irq"
# syscalls of QEMU's I/O path (thread-pool preadv, aio, io_uring, main-loop ppoll), one by one
SYSCALLS_CPATH="pread64 preadv preadv2 pwrite64 pwritev pwritev2 io_submit io_getevents io_uring_enter ppoll"
lt_start() { # $1 = lttng trace name, $2 = output dir, $3 = lean (optional)
  lttng-sessiond --daemonize || echo "TRACELAB sessiond failed"
  sleep 1
  lttng list -k > /tmp/lttng-list-k.txt 2>&1
  lttng create "$1" --output="$2"
  lttng enable-channel -k --subbuf-size=2M --num-subbuf=8 ch0
  if [ "$3" = lean ]; then
    lttng enable-event -k -c ch0 "$EVENTS_LEAN"
  elif [ "$3" = leanio ]; then
    # cpath host: lean set + all block_* + the kvm MMIO/EOI probes + the QEMU I/O syscalls
    lttng enable-event -k -c ch0 "$EVENTS_LEAN"
    for e in $(echo "$EVENTS_CPATH_EXTRA" | tr , ' '); do lttng enable-event -k -c ch0 "$e" || echo "TRACELAB no event $e"; done
    for e in $SYSCALLS_CPATH; do lttng enable-event -k -c ch0 --syscall "$e" || echo "TRACELAB no syscall $e"; done
  else
    lttng enable-event -k -c ch0 "$EVENTS_K"
    lttng enable-event -k -c ch0 --syscall -a
  fi
  lttng add-context -k -c ch0 -t pid -t tid -t procname -t ppid -t vpid -t vtid
  lttng start
  lttng status | head -40
}
lt_stop() {
  lttng stop
  lttng status | grep -i -E 'discarded|lost' 
  lttng destroy
}
mark() { echo "TRACELAB $*" ; echo "TRACELAB $*" > /dev/console 2>/dev/null; echo "$*" > /proc/lttng-logger 2>/dev/null; }
