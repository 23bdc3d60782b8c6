//go:build integration

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The Kubernetes manifests of deploy/kubernetes: their collector configuration validates with
// the built distribution, and the manifests agree with it (probes, memory, secrets, etcd).

var kubernetesDir = filepath.Join("deploy", "kubernetes")

// manifests reads every object of the manifest files, by kind.
func manifests(t *testing.T) map[string][]map[string]any {
	t.Helper()
	byKind := map[string][]map[string]any{}
	files, err := filepath.Glob(filepath.Join(repoRoot(), kubernetesDir, "*.yaml"))
	require.NoError(t, err)
	for _, file := range files {
		if filepath.Base(file) == "config.yaml" {
			continue // the collector's configuration, which kustomize puts in a ConfigMap
		}
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(text))
		for {
			var object map[string]any
			if err := dec.Decode(&object); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err, file)
			}
			kind, _ := object["kind"].(string)
			byKind[kind] = append(byKind[kind], object)
		}
	}
	return byKind
}

// at walks a decoded YAML document: a string key selects in a map, an int in a list.
func at(t *testing.T, node any, path ...any) any {
	t.Helper()
	for _, step := range path {
		switch key := step.(type) {
		case string:
			m, ok := node.(map[string]any)
			require.True(t, ok, "%v: not a map at %q", path, key)
			node = m[key]
		case int:
			l, ok := node.([]any)
			require.True(t, ok && key < len(l), "%v: no item %d", path, key)
			node = l[key]
		}
		require.NotNil(t, node, "%v: nothing at %v", path, step)
	}
	return node
}

func str(t *testing.T, node any, path ...any) string {
	t.Helper()
	return fmt.Sprint(at(t, node, path...))
}

// only returns the one object of kind.
func only(t *testing.T, byKind map[string][]map[string]any, kind string) map[string]any {
	t.Helper()
	require.Len(t, byKind[kind], 1, "one %s", kind)
	return byKind[kind][0]
}

func kubernetesConfig(t *testing.T) (path string, config map[string]any) {
	t.Helper()
	path = filepath.Join(repoRoot(), kubernetesDir, "config.yaml")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(text, &config))
	return path, config
}

// The configuration validates with the built collector, given exactly the environment the
// manifests give the container: each ${env:...} it reads comes from the Deployment or the Secret.
func TestKubernetesConfigValidates(t *testing.T) {
	byKind := manifests(t)
	container := at(t, only(t, byKind, "Deployment"), "spec", "template", "spec", "containers", 0)
	var env []string
	for _, v := range at(t, container, "env").([]any) {
		// A value the pod is given by Kubernetes (its name, its IP) stands as a loopback address.
		value, ok := v.(map[string]any)["value"]
		if !ok {
			value = "127.0.0.1"
		}
		env = append(env, fmt.Sprintf("%s=%v", str(t, v, "name"), value))
	}
	for key := range at(t, only(t, byKind, "Secret"), "stringData").(map[string]any) {
		env = append(env, key+"=from-the-secret")
	}
	path, _ := kubernetesConfig(t)
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`\$\{env:([A-Z0-9_]+)`).FindAllStringSubmatch(string(text), -1) {
		assert.True(t, slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, m[1]+"=") }),
			"config.yaml reads %s, which the manifests do not set", m[1])
	}

	cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "deploy/kubernetes/config.yaml does not validate:\n%s", out)
}

// The Deployment's probes, memory, secret, config mount and user match the configuration and
// the image, and the etcd endpoints are the StatefulSet's members.
func TestKubernetesManifestsAgree(t *testing.T) {
	byKind := manifests(t)
	_, config := kubernetesConfig(t)
	kustomization := only(t, byKind, "Kustomization")
	for _, resource := range at(t, kustomization, "resources").([]any) {
		assert.FileExists(t, filepath.Join(repoRoot(), kubernetesDir, fmt.Sprint(resource)))
	}
	configMap := str(t, kustomization, "configMapGenerator", 0, "name")
	assert.Equal(t, []any{"config.yaml"}, at(t, kustomization, "configMapGenerator", 0, "files"))

	deployment := only(t, byKind, "Deployment")
	assert.GreaterOrEqual(t, at(t, deployment, "spec", "replicas"), 2, "several replicas")
	pod := at(t, deployment, "spec", "template", "spec")
	container := at(t, pod, "containers", 0)
	assert.Equal(t, "10001", str(t, pod, "securityContext", "runAsUser"), "the image's user")

	mount := at(t, container, "volumeMounts", 0)
	assert.Equal(t, configMap, str(t, pod, "volumes", 0, "configMap", "name"))
	assert.Equal(t, str(t, mount, "name"), str(t, pod, "volumes", 0, "name"))
	assert.Equal(t, []any{"--config=" + str(t, mount, "mountPath") + "/config.yaml"}, at(t, container, "args"))
	assert.Equal(t, str(t, only(t, byKind, "Secret"), "metadata", "name"), str(t, container, "envFrom", 0, "secretRef", "name"))

	ports := map[string]string{}
	for _, p := range at(t, container, "ports").([]any) {
		ports[str(t, p, "name")] = str(t, p, "containerPort")
	}
	for probe, extension := range map[string]string{"livenessProbe": "healthcheckv2/live", "readinessProbe": "healthcheckv2/ready"} {
		http := at(t, config, "extensions", extension, "http")
		assert.Equal(t, str(t, http, "status", "path"), str(t, container, probe, "httpGet", "path"), probe)
		endpoint := str(t, http, "endpoint")
		assert.Equal(t, endpoint[strings.LastIndex(endpoint, ":")+1:], ports[str(t, container, probe, "httpGet", "port")], probe)
	}
	assert.Equal(t, true, at(t, config, "extensions", "healthcheckv2/ready", "component_health", "include_permanent_errors"),
		"readiness follows the sources' status")

	limiter := at(t, config, "processors", "memory_limiter")
	limit, spike := at(t, limiter, "limit_mib").(int), at(t, limiter, "spike_limit_mib").(int)
	memory := mebibytes(t, str(t, container, "resources", "limits", "memory"))
	assert.Less(t, limit, memory, "memory_limiter refuses data below the container's limit")
	assert.Less(t, spike, limit)
	var goMemLimit int
	for _, v := range at(t, container, "env").([]any) {
		if str(t, v, "name") == "GOMEMLIMIT" {
			goMemLimit = mebibytes(t, str(t, v, "value"))
		}
	}
	assert.True(t, limit < goMemLimit && goMemLimit < memory, "GOMEMLIMIT %d MiB lies between memory_limiter's %d and the limit %d", goMemLimit, limit, memory)
	for _, pipeline := range at(t, config, "service", "pipelines").(map[string]any) {
		assert.Equal(t, "memory_limiter", str(t, pipeline, "processors", 0), "memory_limiter first in every pipeline")
	}

	etcd := only(t, byKind, "StatefulSet")
	members := at(t, etcd, "spec", "replicas").(int)
	var want []any
	for i := range members {
		want = append(want, fmt.Sprintf("http://%s-%d.%s:2379", str(t, etcd, "metadata", "name"), i, str(t, etcd, "spec", "serviceName")))
	}
	assert.Equal(t, want, at(t, config, "extensions", "etcd", "endpoints"))
	assert.Equal(t, "etcd", str(t, config, "receivers", "securityalerts", "storage"))
	assert.Equal(t, "etcd", str(t, config, "receivers", "securityalerts", "leader_elector"))
}

// mebibytes reads a Kubernetes (512Mi, 1Gi) or Go (460MiB) memory quantity.
func mebibytes(t *testing.T, quantity string) int {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)(Mi|MiB|Gi|GiB)$`).FindStringSubmatch(quantity)
	require.NotNil(t, m, "memory quantity %q", quantity)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	if strings.HasPrefix(m[2], "G") {
		n *= 1024
	}
	return n
}
