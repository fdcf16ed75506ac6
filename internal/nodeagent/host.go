package nodeagent

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

// HostFacts are what the node agent reports about its host.
type HostFacts struct {
	OS, OSImage, Kernel, Arch, ContainerRuntime, KubeletVersion string
	CPUs                                                        int
	MemoryBytes                                                 float64
	BootTime                                                    float64 // Unix seconds, 0 when unknown
}

// ReadHostFacts reads the host's kernel, CPU count, memory and boot time from
// procRoot (the host's /proc, mounted into the DaemonSet's pod) and fills in
// what the Node object knows (OS image, architecture, container runtime,
// kubelet version), falling back to the Node's capacity when /proc cannot
// be read. node may be nil.
func ReadHostFacts(procRoot string, node *corev1.Node) HostFacts {
	var f HostFacts
	if b, err := os.ReadFile(filepath.Join(procRoot, "sys/kernel/osrelease")); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "stat")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9':
				f.CPUs++
			case strings.HasPrefix(line, "btime "):
				f.BootTime, _ = strconv.ParseFloat(strings.TrimSpace(line[len("btime "):]), 64)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "meminfo")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(fields[1], 64)
				f.MemoryBytes = kb * 1024
			}
		}
	}
	f.OS, f.Arch = runtime.GOOS, runtime.GOARCH
	if node != nil {
		ni := node.Status.NodeInfo
		f.OSImage, f.ContainerRuntime, f.KubeletVersion = ni.OSImage, ni.ContainerRuntimeVersion, ni.KubeletVersion
		if ni.OperatingSystem != "" {
			f.OS = ni.OperatingSystem
		}
		if ni.Architecture != "" {
			f.Arch = ni.Architecture
		}
		if f.Kernel == "" {
			f.Kernel = ni.KernelVersion
		}
		if f.CPUs == 0 {
			if q, ok := node.Status.Capacity[corev1.ResourceCPU]; ok {
				f.CPUs = int(q.Value())
			}
		}
		if f.MemoryBytes == 0 {
			if q, ok := node.Status.Capacity[corev1.ResourceMemory]; ok {
				f.MemoryBytes = float64(q.Value())
			}
		}
	}
	return f
}

var hostLabels = []string{"cluster", "urn", "node"}

var (
	descHostInfo = prometheus.NewDesc("kubetopo_node_host_info",
		"Host information of the node component: operating system, OS image, kernel, architecture, container runtime, kubelet version. Value 1.",
		append(append([]string{}, hostLabels...), "os", "os_image", "kernel", "arch", "container_runtime", "kubelet_version"), nil)
	descHostCPUs = prometheus.NewDesc("kubetopo_node_host_cpus",
		"Logical CPUs of the node's host (from /proc/stat, else the Node's capacity).", hostLabels, nil)
	descHostMemory = prometheus.NewDesc("kubetopo_node_host_memory_bytes",
		"Memory of the node's host (MemTotal of /proc/meminfo, else the Node's capacity).", hostLabels, nil)
	descHostBoot = prometheus.NewDesc("kubetopo_node_host_boot_time_seconds",
		"Boot time of the node's host, Unix seconds (btime of /proc/stat).", hostLabels, nil)
)

// hostCollector reports HostFacts, read afresh on every scrape (cheap: three
// small /proc files and a cached Node).
type hostCollector struct {
	cluster, node, urn, procRoot string
	getNode                      func() *corev1.Node
}

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHostInfo
	ch <- descHostCPUs
	ch <- descHostMemory
	ch <- descHostBoot
}

func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	f := ReadHostFacts(c.procRoot, c.getNode())
	ch <- prometheus.MustNewConstMetric(descHostInfo, prometheus.GaugeValue, 1,
		c.cluster, c.urn, c.node, f.OS, f.OSImage, f.Kernel, f.Arch, f.ContainerRuntime, f.KubeletVersion)
	if f.CPUs > 0 {
		ch <- prometheus.MustNewConstMetric(descHostCPUs, prometheus.GaugeValue, float64(f.CPUs), c.cluster, c.urn, c.node)
	}
	if f.MemoryBytes > 0 {
		ch <- prometheus.MustNewConstMetric(descHostMemory, prometheus.GaugeValue, f.MemoryBytes, c.cluster, c.urn, c.node)
	}
	if f.BootTime > 0 {
		ch <- prometheus.MustNewConstMetric(descHostBoot, prometheus.GaugeValue, f.BootTime, c.cluster, c.urn, c.node)
	}
}
