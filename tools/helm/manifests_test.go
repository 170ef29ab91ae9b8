// Copyright The kartustok_exporter Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package helm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	// helmEnv names the helm binary built from this module.
	helmEnv = "KARTUSTOK_HELM"

	release   = "acme"
	namespace = "kartustok-ci"

	// Where the chart mounts the token and the minimums file.
	etcDir      = "/etc/kartustok_exporter/"
	tokenDir    = etcDir + "token"
	minimumsDir = etcDir + "minimums"
	// Where the chart mounts the state volume, --storage.path.
	stateDir = "/var/lib/kartustok_exporter"

	exporterUID = 65532
	metricsPort = 9472
	portName    = "http-metrics"

	// What to run, from the repository's root, when the chart's copies are
	// out of date.
	// make mixin renders them, and the repository's, from the mixin.
	refreshRules      = "make mixin"
	refreshDashboards = "make mixin"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "deploy", "helm", "kartustok-exporter")
)

// gvk is a rendered document's apiVersion and kind.
type gvk struct{ apiVersion, kind string }

func (g gvk) String() string { return g.apiVersion + " " + g.kind }

// knownKinds are the kinds the chart may render, with the Go type each is
// decoded into. A kind missing here fails the test.
var knownKinds = map[gvk]func() metav1.Object{
	{"v1", "ServiceAccount"}:                       func() metav1.Object { return new(corev1.ServiceAccount) },
	{"v1", "Secret"}:                               func() metav1.Object { return new(corev1.Secret) },
	{"v1", "ConfigMap"}:                            func() metav1.Object { return new(corev1.ConfigMap) },
	{"v1", "PersistentVolumeClaim"}:                func() metav1.Object { return new(corev1.PersistentVolumeClaim) },
	{"v1", "Service"}:                              func() metav1.Object { return new(corev1.Service) },
	{"apps/v1", "Deployment"}:                      func() metav1.Object { return new(appsv1.Deployment) },
	{"apps/v1", "StatefulSet"}:                     func() metav1.Object { return new(appsv1.StatefulSet) },
	{"monitoring.coreos.com/v1", "ServiceMonitor"}: func() metav1.Object { return new(monitoringv1.ServiceMonitor) },
	{"monitoring.coreos.com/v1", "PrometheusRule"}: func() metav1.Object { return new(monitoringv1.PrometheusRule) },
}

// document is one rendered manifest.
type document struct {
	source string // the template, from Helm's "# Source:" comment
	raw    string // the YAML as rendered
	gvk    gvk
	obj    metav1.Object
}

// rendering is what one value set renders.
type rendering struct {
	valuesFile string // relative to the chart
	values     chartValues
	docs       []document
}

// chartValues is the part of the chart's values the tests look at, after
// the value set is merged over values.yaml.
type chartValues struct {
	Job             string          `json:"job"`
	Shards          int             `json:"shards"`
	Replicas        int             `json:"replicaCount"`
	Companies       []companyValues `json:"companies"`
	CompaniesTokens struct {
		ExistingSecret string            `json:"existingSecret"`
		Tokens         map[string]string `json:"tokens"`
	} `json:"companiesTokens"`
	CompaniesFile struct {
		RestartOnChange bool `json:"restartOnChange"`
	} `json:"companiesFile"`
	ExtraVolumeMounts []corev1.VolumeMount `json:"extraVolumeMounts"`
	Kartustok         struct {
		URL   string `json:"url"`
		Token struct {
			ExistingSecret string `json:"existingSecret"`
			Key            string `json:"key"`
			Value          string `json:"value"`
		} `json:"token"`
		ExtraArgs []string `json:"extraArgs"`
	} `json:"kartustok"`
	Minimums struct {
		Content           string `json:"content"`
		ExistingConfigMap string `json:"existingConfigMap"`
		Key               string `json:"key"`
	} `json:"minimums"`
	Persistence    persistenceValues `json:"persistence"`
	ServiceAccount struct {
		Create bool `json:"create"`
	} `json:"serviceAccount"`
	ServiceMonitor struct {
		Enabled    bool   `json:"enabled"`
		Instance   string `json:"instance"`
		PodAddress bool   `json:"podAddress"`
	} `json:"serviceMonitor"`
	PrometheusRule struct {
		Enabled bool `json:"enabled"`
	} `json:"prometheusRule"`
	Dashboards struct {
		Enabled    bool   `json:"enabled"`
		Label      string `json:"label"`
		LabelValue string `json:"labelValue"`
		Namespace  string `json:"namespace"`
	} `json:"dashboards"`
}

// persistenceValues are the values of the state's volume.
type persistenceValues struct {
	Enabled  bool `json:"enabled"`
	EmptyDir struct {
		Medium    string `json:"medium"`
		SizeLimit string `json:"sizeLimit"`
	} `json:"emptyDir"`
	ExistingClaim string            `json:"existingClaim"`
	StorageClass  string            `json:"storageClass"`
	AccessModes   []string          `json:"accessModes"`
	Size          string            `json:"size"`
	Annotations   map[string]string `json:"annotations"`
}

// helmBinary is the helm that KARTUSTOK_HELM names. The test skips without
// it and fails when it names no file.
func helmBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv(helmEnv)
	if p == "" {
		t.Skipf("%s is not set: `make helm` runs this test with the helm built from tools/helm", helmEnv)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		t.Fatalf("%s=%s names no helm binary (%v): build it with `make tools/bin/helm`", helmEnv, p, err)
	}
	return p
}

// helmTemplate runs helm template over the chart with args.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm template %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// valueSets lists the chart's ci/*.yaml, relative to the chart.
func valueSets(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	require.NoError(t, err)
	var sets []string
	for _, f := range files {
		sets = append(sets, filepath.ToSlash(filepath.Join("ci", filepath.Base(f))))
	}
	for _, want := range []string{"ci/default-values.yaml", "ci/all-enabled-values.yaml", "ci/custom-job-values.yaml", "ci/existing-secret-values.yaml", "ci/persistence-values.yaml", "ci/companies-values.yaml", "ci/shards-values.yaml"} {
		require.Contains(t, sets, want, "the chart's value set %s is missing", want)
	}
	return sets
}

// chartPath is a value file's path: relative to the chart unless absolute.
func chartPath(f string) string {
	if filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(chartDir, f)
}

// render renders a value set, the files merged in order, and decodes every
// document strictly.
func render(t *testing.T, valuesFiles ...string) *rendering {
	t.Helper()
	var args []string
	for _, f := range valuesFiles {
		args = append(args, "--values", chartPath(f))
	}
	out, err := helmTemplate(t, args...)
	require.NoError(t, err)
	name := strings.Join(valuesFiles, " + ")
	docs, err := decodeDocuments(out)
	require.NoError(t, err, "%s", name)
	return &rendering{valuesFile: name, values: loadValues(t, valuesFiles...), docs: docs}
}

var (
	docSeparator  = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceComment = regexp.MustCompile(`(?m)^# Source: (\S+)`)
)

// decodeDocuments splits helm template's output and decodes each document
// into its API type as the API server would: duplicate keys, unknown fields
// and fields in the wrong case are errors, and so is a kind the test does
// not know.
func decodeDocuments(out string) ([]document, error) {
	var docs []document
	for _, raw := range docSeparator.Split(out, -1) {
		source := "(no source)"
		if m := sourceComment.FindStringSubmatch(raw); m != nil {
			source = m[1]
		}
		j, err := yaml.YAMLToJSONStrict([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue // empty, or only comments
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		g := gvk{tm.APIVersion, tm.Kind}
		newObj, ok := knownKinds[g]
		if !ok {
			return nil, fmt.Errorf("%s renders %s, a kind this test does not know: add it and its Go type to knownKinds", source, g)
		}
		obj := newObj()
		strict, err := kjson.UnmarshalStrict(j, obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", source, g, err)
		}
		if len(strict) > 0 {
			return nil, fmt.Errorf("%s: %s does not decode strictly: %w", source, g, errors.Join(strict...))
		}
		docs = append(docs, document{source: source, raw: raw, gvk: g, obj: obj})
	}
	return docs, nil
}

// loadValues merges the value files over the chart's values.yaml.
func loadValues(t *testing.T, files ...string) chartValues {
	t.Helper()
	merged := map[string]any{}
	for _, f := range append([]string{"values.yaml"}, files...) {
		b, err := os.ReadFile(chartPath(f))
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, yaml.Unmarshal(b, &m), f)
		mergeValues(merged, m)
	}
	j, err := json.Marshal(merged)
	require.NoError(t, err)
	var v chartValues
	require.NoError(t, json.Unmarshal(j, &v))
	return v
}

func mergeValues(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func (r *rendering) all(kind string) []document {
	var docs []document
	for _, d := range r.docs {
		if d.gvk.kind == kind {
			docs = append(docs, d)
		}
	}
	return docs
}

func (r *rendering) one(t *testing.T, kind string) document {
	t.Helper()
	docs := r.all(kind)
	require.Len(t, docs, 1, "%s renders %d %s, want 1", r.valuesFile, len(docs), kind)
	return docs[0]
}

// byName finds the object of kind with the given name, or nil.
func (r *rendering) byName(kind, name string) metav1.Object {
	for _, d := range r.all(kind) {
		if d.obj.GetName() == name {
			return d.obj
		}
	}
	return nil
}

// workload is the object that runs the exporters: a Deployment of one pod,
// or with shards a StatefulSet of one pod per shard.
type workload struct {
	dep      *appsv1.Deployment  // nil with shards
	sts      *appsv1.StatefulSet // nil without
	replicas *int32
	selector *metav1.LabelSelector
	pod      *corev1.PodTemplateSpec
}

func (w workload) kind() string {
	if w.sts != nil {
		return "StatefulSet"
	}
	return "Deployment"
}

// workload is the rendering's one Deployment or StatefulSet.
func (r *rendering) workload(t *testing.T) workload {
	t.Helper()
	deps, stss := r.all("Deployment"), r.all("StatefulSet")
	require.Len(t, append(deps, stss...), 1, "%s renders %d Deployments and %d StatefulSets, want one of the two", r.valuesFile, len(deps), len(stss))
	if len(deps) == 1 {
		d := deps[0].obj.(*appsv1.Deployment)
		return workload{dep: d, replicas: d.Spec.Replicas, selector: d.Spec.Selector, pod: &d.Spec.Template}
	}
	s := stss[0].obj.(*appsv1.StatefulSet)
	return workload{sts: s, replicas: s.Spec.Replicas, selector: s.Spec.Selector, pod: &s.Spec.Template}
}

// exporter is the pod's one container.
func exporter(t *testing.T, w workload) *corev1.Container {
	t.Helper()
	require.Empty(t, w.pod.Spec.InitContainers)
	require.Len(t, w.pod.Spec.Containers, 1)
	return &w.pod.Spec.Containers[0]
}

// volume is the pod's volume of the given name, or nil.
func (w workload) volume(name string) *corev1.Volume {
	for i := range w.pod.Spec.Volumes {
		if w.pod.Spec.Volumes[i].Name == name {
			return &w.pod.Spec.Volumes[i]
		}
	}
	return nil
}

// flagValue is the value of --name=value in args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// TestChartVersion checks Chart.yaml against the repository's VERSION.
func TestChartVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	require.NoError(t, err)
	var chart struct {
		APIVersion string `json:"apiVersion"`
		Name       string `json:"name"`
		AppVersion string `json:"appVersion"`
	}
	require.NoError(t, yaml.Unmarshal(b, &chart))
	assert.Equal(t, "v2", chart.APIVersion)
	assert.Equal(t, "kartustok-exporter", chart.Name)
	v, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(v)), chart.AppVersion,
		"deploy/helm/kartustok-exporter/Chart.yaml: appVersion must be the VERSION file's %q (and bump the chart's version)", strings.TrimSpace(string(v)))
}

// TestValueSets renders every value set in ci/ and checks what it renders.
func TestValueSets(t *testing.T) {
	helmBinary(t)
	tools := buildTools(t)
	rendered := map[gvk]bool{}
	for _, set := range valueSets(t) {
		t.Run(path.Base(set), func(t *testing.T) {
			r := render(t, set)
			for _, d := range r.docs {
				rendered[d.gvk] = true
			}
			checkRendering(t, r, tools)
		})
	}
	for g := range knownKinds {
		assert.True(t, rendered[g], "no value set in ci/ renders a %s: add one that does", g)
	}
}

// tools are the programs the checks run: the exporter, and the parser of
// its companies file.
type tools struct{ exporter, configParser string }

func buildTools(t *testing.T) tools {
	t.Helper()
	return tools{exporter: buildExporter(t), configParser: buildConfigParser(t)}
}

// checkRendering runs every check of a rendered value set.
func checkRendering(t *testing.T, r *rendering, tools tools) {
	t.Run("metadata", func(t *testing.T) { checkMetadata(t, r) })
	t.Run("wiring", func(t *testing.T) { checkWiring(t, r) })
	t.Run("security", func(t *testing.T) { checkSecurity(t, r) })
	t.Run("token", func(t *testing.T) { checkToken(t, r) })
	t.Run("companies", func(t *testing.T) { checkCompanies(t, r, tools.configParser) })
	t.Run("state", func(t *testing.T) { checkState(t, r) })
	t.Run("command line", func(t *testing.T) { checkCommandLine(t, r, tools.exporter) })
}

// TestStateVolume renders the kinds of state volume that no value set in
// ci/ shows, each over the default value set, and checks them as
// TestValueSets does.
func TestStateVolume(t *testing.T) {
	helmBinary(t)
	tools := buildTools(t)
	defaults, err := os.ReadFile(filepath.Join(chartDir, "ci", "default-values.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct{ name, values string }{
		{"emptyDir with a size limit", "persistence:\n  emptyDir:\n    sizeLimit: 64Mi\n"},
		{"emptyDir in memory", "persistence:\n  emptyDir:\n    medium: Memory\n    sizeLimit: 16Mi\n"},
		{"claim without a storage class", "persistence:\n  enabled: true\n  storageClass: \"-\"\n  size: 100Mi\n"},
		{"claim shared by nodes", "persistence:\n  enabled: true\n  storageClass: nfs\n  accessModes: [ReadWriteMany]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "values.yaml")
			require.NoError(t, os.WriteFile(f, append(slices.Clone(defaults), tc.values...), 0o600))
			checkRendering(t, render(t, f), tools)
		})
	}
}

// checkMetadata checks names, namespaces, labels and annotations.
func checkMetadata(t *testing.T, r *rendering) {
	for _, d := range r.docs {
		o := d.obj
		assert.Empty(t, validation.IsDNS1123Subdomain(o.GetName()), "%s: name %q", d.source, o.GetName())
		if d.gvk.kind == "Service" {
			assert.Empty(t, validation.IsDNS1035Label(o.GetName()), "%s: Service name %q", d.source, o.GetName())
		}
		wantNS := namespace
		if d.source == "kartustok-exporter/templates/dashboards-configmap.yaml" && r.values.Dashboards.Namespace != "" {
			wantNS = r.values.Dashboards.Namespace
		}
		assert.Equal(t, wantNS, o.GetNamespace(), "%s: namespace", d.source)
		assert.Equal(t, release, o.GetLabels()["app.kubernetes.io/instance"], "%s: labels", d.source)
		assert.Equal(t, "kartustok-exporter", o.GetLabels()["app.kubernetes.io/name"], "%s: labels", d.source)
		for k, v := range o.GetLabels() {
			assert.Empty(t, validation.IsQualifiedName(k), "%s: label %q", d.source, k)
			assert.Empty(t, validation.IsValidLabelValue(v), "%s: label %s=%q", d.source, k, v)
		}
		for k := range o.GetAnnotations() {
			assert.Empty(t, validation.IsQualifiedName(k), "%s: annotation %q", d.source, k)
		}
	}
}

// checkWiring checks that the objects refer to each other correctly.
func checkWiring(t *testing.T, r *rendering) {
	w := r.workload(t)
	pod := w.pod
	require.NotNil(t, w.selector)
	assert.Subset(t, pod.Labels, w.selector.MatchLabels, "the %s's selector must match its pods", w.kind())

	c := exporter(t, w)
	require.Len(t, c.Ports, 1)
	assert.Equal(t, portName, c.Ports[0].Name)
	assert.EqualValues(t, metricsPort, c.Ports[0].ContainerPort)

	// The regular Service, and with shards the StatefulSet's headless one.
	var svc, headless *corev1.Service
	for _, d := range r.all("Service") {
		s := d.obj.(*corev1.Service)
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			require.Nil(t, headless, "two headless Services")
			headless = s
		} else {
			require.Nil(t, svc, "two Services that are not headless")
			svc = s
		}
	}
	require.NotNil(t, svc, "no Service")
	for _, s := range []*corev1.Service{svc, headless} {
		if s == nil {
			continue
		}
		assert.Subset(t, pod.Labels, s.Spec.Selector, "the Service %s must select the pods", s.Name)
		require.Len(t, s.Spec.Ports, 1)
		assert.Equal(t, portName, s.Spec.Ports[0].Name)
		assert.Equal(t, portName, s.Spec.Ports[0].TargetPort.String())
	}
	if w.sts != nil {
		require.NotNil(t, headless, "a StatefulSet needs a headless Service")
		assert.Equal(t, headless.Name, w.sts.Spec.ServiceName, "the StatefulSet's governing Service is the headless one")
		assert.True(t, headless.Spec.PublishNotReadyAddresses, "the pods have their DNS names before they are ready")
	} else {
		assert.Nil(t, headless, "a Deployment needs no headless Service")
	}

	if r.values.ServiceAccount.Create {
		assert.NotNil(t, r.byName("ServiceAccount", pod.Spec.ServiceAccountName), "the pod's ServiceAccount %q is not rendered", pod.Spec.ServiceAccountName)
	} else {
		assert.Empty(t, r.all("ServiceAccount"))
	}

	sms := r.all("ServiceMonitor")
	if !r.values.ServiceMonitor.Enabled {
		assert.Empty(t, sms)
	} else {
		require.Len(t, sms, 1)
		sm := sms[0].obj.(*monitoringv1.ServiceMonitor)
		// Exactly the regular Service: through the headless one as well,
		// every pod would be scraped twice.
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		require.NoError(t, err)
		var selected []string
		for _, d := range r.all("Service") {
			if sel.Matches(labels.Set(d.obj.GetLabels())) {
				selected = append(selected, d.obj.GetName())
			}
		}
		assert.Equal(t, []string{svc.Name}, selected, "the Services the ServiceMonitor selects")
		assert.Equal(t, []string{namespace}, sm.Spec.NamespaceSelector.MatchNames)
		require.Len(t, sm.Spec.Endpoints, 1)
		ep := sm.Spec.Endpoints[0]
		assert.Equal(t, portName, ep.Port)
		assert.Equal(t, "/metrics", ep.Path)
		// The job the PrometheusRule selects: the first relabeling sets it.
		require.NotEmpty(t, ep.RelabelConfigs)
		first := ep.RelabelConfigs[0]
		assert.Equal(t, "job", first.TargetLabel)
		assert.Equal(t, "replace", first.Action)
		require.NotNil(t, first.Replacement)
		assert.Equal(t, r.values.Job, *first.Replacement)
		for _, rc := range ep.RelabelConfigs[1:] {
			assert.NotEqual(t, "job", rc.TargetLabel, "a later relabeling overrides the job the rules select")
		}
		// A stable instance, the release's unless set, so that a new pod
		// does not start new series; with shards, one per pod.
		if !r.values.ServiceMonitor.PodAddress {
			require.GreaterOrEqual(t, len(ep.RelabelConfigs), 2)
			want := r.values.ServiceMonitor.Instance
			if want == "" {
				want = release
			}
			second := ep.RelabelConfigs[1]
			if w.sts == nil {
				assert.Equal(t, "instance", second.TargetLabel)
				require.NotNil(t, second.Replacement)
				assert.Equal(t, want, *second.Replacement)
			} else {
				instances := map[string]bool{}
				for i := range int(*w.replicas) {
					pod := fmt.Sprintf("%s-%d", w.sts.Name, i)
					got, ok := relabel(t, second, map[string]string{"__meta_kubernetes_pod_name": pod, "instance": "10.0.0.1:9472"})
					require.True(t, ok, "the instance relabeling drops pod %s", pod)
					assert.Equal(t, fmt.Sprintf("%s-%d", want, i), got["instance"], "the instance of pod %s", pod)
					instances[got["instance"]] = true
				}
				assert.Len(t, instances, int(*w.replicas), "every shard is an instance of its own")
			}
		}
	}

	if !r.values.PrometheusRule.Enabled {
		assert.Empty(t, r.all("PrometheusRule"))
	}
	if !r.values.Dashboards.Enabled {
		assert.Nil(t, r.byName("ConfigMap", "acme-kartustok-exporter-dashboards"))
	}
}

// relabel applies a replace relabeling to a target's labels as Prometheus
// does (an anchored regex, "(.*)" by default, over the source labels
// joined by ";"), and reports false when the regex does not match.
func relabel(t *testing.T, rc monitoringv1.RelabelConfig, target map[string]string) (map[string]string, bool) {
	t.Helper()
	require.Contains(t, []string{"", "replace"}, rc.Action, "only replace relabelings are simulated")
	var values []string
	for _, l := range rc.SourceLabels {
		values = append(values, target[string(l)])
	}
	expr := "(.*)"
	if rc.Regex != "" {
		expr = rc.Regex
	}
	re, err := regexp.Compile("^(?s:" + expr + ")$")
	require.NoError(t, err)
	m := re.FindStringSubmatchIndex(strings.Join(values, ";"))
	if m == nil {
		return target, false
	}
	replacement := "$1"
	if rc.Replacement != nil {
		replacement = *rc.Replacement
	}
	out := maps.Clone(target)
	out[rc.TargetLabel] = string(re.ExpandString(nil, replacement, strings.Join(values, ";"), m))
	return out, true
}

// checkSecurity asserts the pod's hardening.
func checkSecurity(t *testing.T, r *rendering) {
	w := r.workload(t)
	spec := w.pod.Spec
	c := exporter(t, w)

	require.NotNil(t, w.replicas)
	if w.dep != nil {
		assert.EqualValues(t, 1, *w.replicas, "one exporter per company and token")
		assert.Equal(t, appsv1.RecreateDeploymentStrategyType, w.dep.Spec.Strategy.Type, "two exporters must not share the token's rate limit during a rollout")
	} else {
		want := r.values.Shards
		if r.values.Replicas == 0 {
			want = 0 // stopped
		}
		assert.EqualValues(t, want, *w.replicas, "one pod per shard")
		assert.Equal(t, appsv1.ParallelPodManagement, w.sts.Spec.PodManagementPolicy, "the shards start and stop independently")
		// A StatefulSet's rolling update deletes a pod before it creates
		// its successor: never two exporters for one shard's companies.
		assert.Equal(t, appsv1.RollingUpdateStatefulSetStrategyType, w.sts.Spec.UpdateStrategy.Type)
		if ru := w.sts.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			assert.Nil(t, ru.MaxUnavailable, "more than one shard down at once")
		}
	}

	require.NotNil(t, spec.AutomountServiceAccountToken)
	assert.False(t, *spec.AutomountServiceAccountToken, "the exporter needs no Kubernetes API token")
	assert.False(t, spec.HostNetwork || spec.HostPID || spec.HostIPC)

	psc := spec.SecurityContext
	require.NotNil(t, psc)
	require.NotNil(t, psc.RunAsNonRoot)
	assert.True(t, *psc.RunAsNonRoot)
	require.NotNil(t, psc.RunAsUser)
	assert.EqualValues(t, exporterUID, *psc.RunAsUser, "the image's user")
	require.NotNil(t, psc.FSGroup)
	assert.EqualValues(t, exporterUID, *psc.FSGroup, "the Secret's files are readable by the exporter through its group")
	require.NotNil(t, psc.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)

	sc := c.SecurityContext
	require.NotNil(t, sc)
	require.NotNil(t, sc.ReadOnlyRootFilesystem)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	require.NotNil(t, sc.AllowPrivilegeEscalation)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	assert.True(t, sc.Privileged == nil || !*sc.Privileged)
	require.NotNil(t, sc.Capabilities)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
	if sc.RunAsNonRoot != nil {
		assert.True(t, *sc.RunAsNonRoot)
	}
	if sc.RunAsUser != nil {
		assert.NotZero(t, *sc.RunAsUser)
	}
	if sc.SeccompProfile != nil {
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	}

	for name, p := range map[string]*corev1.Probe{"/-/healthy": c.LivenessProbe, "/-/ready": c.ReadinessProbe} {
		require.NotNil(t, p, "probe of %s", name)
		require.NotNil(t, p.HTTPGet, "probe of %s", name)
		assert.Equal(t, name, p.HTTPGet.Path)
		assert.Equal(t, portName, p.HTTPGet.Port.String())
	}
	assert.Nil(t, c.StartupProbe, "a startup probe would kill an exporter whose first refresh is slow")

	assert.False(t, c.Resources.Requests.Memory().IsZero(), "a memory request")
	assert.False(t, c.Resources.Limits.Memory().IsZero(), "a memory limit")
}

// checkToken asserts that the token reaches the exporter only as a file of
// the Secret, mounted as a directory, and nowhere else.
func checkToken(t *testing.T, r *rendering) {
	w := r.workload(t)
	c := exporter(t, w)
	if len(r.values.Companies) == 0 {
		checkOneToken(t, r, w, c)
	} else {
		// Each company's token, in the companies file: checkCompanies.
		for _, f := range []string{"--kartustok.url", "--kartustok.token-file", "--stock.minimums-file", "--kartustok.company"} {
			_, ok := flagValue(c.Args, f)
			assert.False(t, ok, "%s with companies: the exporter refuses it with --config.file", f)
		}
	}

	for _, m := range c.VolumeMounts {
		assert.Empty(t, m.SubPath, "mount %s: a subPath mount does not see a changed Secret or ConfigMap", m.MountPath)
		assert.Empty(t, m.SubPathExpr, "mount %s", m.MountPath)
	}
	assert.Empty(t, c.EnvFrom, "no environment from Secrets or ConfigMaps")
	for _, e := range c.Env {
		assert.NotEqual(t, "KARTUSTOK_TOKEN", e.Name, "the token must not be in the environment")
		if e.ValueFrom != nil {
			assert.Nil(t, e.ValueFrom.SecretKeyRef, "env %s comes from a Secret", e.Name)
		}
	}
	for _, a := range c.Args {
		assert.NotContains(t, a, "token=", "an argument that looks like a token: %q", a)
	}

	// A token's value appears in the Secret alone, and only in base64.
	tokens := slices.Collect(maps.Values(r.values.CompaniesTokens.Tokens))
	if v := r.values.Kartustok.Token.Value; v != "" {
		tokens = append(tokens, v)
	}
	for _, token := range tokens {
		encoded := base64.StdEncoding.EncodeToString([]byte(token))
		for _, d := range r.docs {
			assert.NotContains(t, d.raw, token, "%s holds a token in clear", d.source)
			if d.gvk.kind != "Secret" {
				assert.NotContains(t, d.raw, encoded, "%s holds a token", d.source)
			}
		}
	}
}

// checkOneToken asserts that kartustok.url's one token reaches the exporter
// as a file of the Secret mounted as a directory, and the minimums file as
// one of the ConfigMap.
func checkOneToken(t *testing.T, r *rendering, w workload, c *corev1.Container) {
	v := r.values.Kartustok.Token
	tokenFile, ok := flagValue(c.Args, "--kartustok.token-file")
	require.True(t, ok, "--kartustok.token-file is missing from %q", c.Args)
	assert.Equal(t, tokenDir+"/"+v.Key, tokenFile)

	wantSecret := v.ExistingSecret
	if wantSecret == "" {
		wantSecret = "acme-kartustok-exporter-token"
		s := r.byName("Secret", wantSecret)
		require.NotNil(t, s, "the token Secret %s is not rendered", wantSecret)
		assert.Equal(t, []byte(v.Value), s.(*corev1.Secret).Data[v.Key])
	} else {
		assert.Empty(t, r.all("Secret"), "with an existing Secret the chart creates none")
	}
	checkMountedDirectory(t, w, tokenFile, func(vol corev1.Volume) (string, []corev1.KeyToPath, *int32) {
		require.NotNil(t, vol.Secret, "the token volume must be a Secret")
		return vol.Secret.SecretName, vol.Secret.Items, vol.Secret.DefaultMode
	}, wantSecret)

	if minimums, ok := flagValue(c.Args, "--stock.minimums-file"); ok {
		m := r.values.Minimums
		require.True(t, m.Content != "" || m.ExistingConfigMap != "", "--stock.minimums-file without minimums")
		assert.Equal(t, minimumsDir+"/"+m.Key, minimums)
		wantCM := m.ExistingConfigMap
		if wantCM == "" {
			wantCM = "acme-kartustok-exporter-minimums"
			cm := r.byName("ConfigMap", wantCM)
			require.NotNil(t, cm, "the minimums ConfigMap %s is not rendered", wantCM)
			assert.Equal(t, m.Content, cm.(*corev1.ConfigMap).Data[m.Key])
		}
		checkMountedDirectory(t, w, minimums, func(vol corev1.Volume) (string, []corev1.KeyToPath, *int32) {
			require.NotNil(t, vol.ConfigMap, "the minimums volume must be a ConfigMap")
			return vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.DefaultMode
		}, wantCM)
	} else {
		assert.True(t, r.values.Minimums.Content == "" && r.values.Minimums.ExistingConfigMap == "", "minimums without --stock.minimums-file")
	}
}

// checkState asserts that the exporter keeps its state on the volume that
// persistence asks for, mounted writable at --storage.path: an emptyDir by
// default, else a claim, the chart's own or an existing one, and that a
// claim comes with the Recreate strategy.
func checkState(t *testing.T, r *rendering) {
	w := r.workload(t)
	c := exporter(t, w)
	p := r.values.Persistence

	dir, ok := flagValue(c.Args, "--storage.path")
	require.True(t, ok, "--storage.path is missing from %q", c.Args)
	assert.Equal(t, stateDir, dir)
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == stateDir {
			require.Nil(t, mount, "two volumes are mounted at %s", stateDir)
			mount = &c.VolumeMounts[i]
		}
	}
	require.NotNil(t, mount, "no volume is mounted at %s", stateDir)
	assert.False(t, mount.ReadOnly, "the exporter writes its state to %s", stateDir)
	assert.Empty(t, mount.SubPath, "%s: the state file is replaced by a rename in its directory", stateDir)
	vol := w.volume(mount.Name)
	claims := r.all("PersistentVolumeClaim")

	if w.sts != nil && p.Enabled {
		// One claim per pod, from the StatefulSet's template: the pods
		// cannot share one.
		assert.Nil(t, vol, "the state volume %s is the claim template's, not the pod's", mount.Name)
		assert.Empty(t, claims, "with shards the StatefulSet creates the claims")
		require.Len(t, w.sts.Spec.VolumeClaimTemplates, 1)
		tpl := w.sts.Spec.VolumeClaimTemplates[0]
		assert.Equal(t, mount.Name, tpl.Name, "the claim template provides the state volume")
		// A claim template cannot change once created: labels that change
		// with the chart's version would fail every upgrade.
		assert.Equal(t, w.selector.MatchLabels, tpl.Labels, "the claim template's labels are the selector's only")
		checkClaim(t, p, &tpl)
		return
	}
	require.NotNil(t, vol, "no volume %s", mount.Name)
	if w.sts != nil {
		assert.Empty(t, w.sts.Spec.VolumeClaimTemplates, "without persistence.enabled no claims")
	}

	if !p.Enabled {
		require.NotNil(t, vol.EmptyDir, "without persistence.enabled the state is on an emptyDir")
		assert.EqualValues(t, p.EmptyDir.Medium, vol.EmptyDir.Medium)
		if p.EmptyDir.SizeLimit == "" {
			assert.Nil(t, vol.EmptyDir.SizeLimit)
		} else if assert.NotNil(t, vol.EmptyDir.SizeLimit) {
			want := resource.MustParse(p.EmptyDir.SizeLimit)
			assert.Zero(t, want.Cmp(*vol.EmptyDir.SizeLimit), "sizeLimit %s", vol.EmptyDir.SizeLimit)
		}
		assert.Empty(t, claims, "without persistence.enabled the chart creates no claim")
		return
	}

	require.NotNil(t, vol.PersistentVolumeClaim, "with persistence.enabled the state is on a claim")
	assert.False(t, vol.PersistentVolumeClaim.ReadOnly)
	require.NotNil(t, w.dep, "a claim in the pod template of a StatefulSet")
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, w.dep.Spec.Strategy.Type,
		"a rolling update would start the new pod while the old one holds the claim")
	if p.ExistingClaim != "" {
		assert.Equal(t, p.ExistingClaim, vol.PersistentVolumeClaim.ClaimName)
		assert.Empty(t, claims, "with an existing claim the chart creates none")
		return
	}
	require.Len(t, claims, 1, "the chart creates the claim")
	pvc := claims[0].obj.(*corev1.PersistentVolumeClaim)
	assert.Equal(t, "acme-kartustok-exporter-state", pvc.Name)
	assert.Equal(t, pvc.Name, vol.PersistentVolumeClaim.ClaimName, "the pod mounts the chart's claim")
	checkClaim(t, p, pvc)
}

// checkClaim asserts that a claim, or a claim template, is the one the
// persistence values ask for.
func checkClaim(t *testing.T, p persistenceValues, pvc *corev1.PersistentVolumeClaim) {
	t.Helper()
	var modes []string
	for _, m := range pvc.Spec.AccessModes {
		modes = append(modes, string(m))
	}
	assert.Equal(t, p.AccessModes, modes)
	assert.NotContains(t, modes, string(corev1.ReadOnlyMany), "the exporter writes")
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	require.True(t, ok, "the claim requests no storage")
	want := resource.MustParse(p.Size)
	assert.Zero(t, want.Cmp(size), "the claim requests %s", size.String())
	switch p.StorageClass {
	case "":
		assert.Nil(t, pvc.Spec.StorageClassName, "the cluster's default storage class")
	case "-":
		require.NotNil(t, pvc.Spec.StorageClassName)
		assert.Empty(t, *pvc.Spec.StorageClassName, `"-": no storage class, a volume made beforehand`)
	default:
		require.NotNil(t, pvc.Spec.StorageClassName)
		assert.Equal(t, p.StorageClass, *pvc.Spec.StorageClassName)
	}
	if len(p.Annotations) == 0 {
		assert.Empty(t, pvc.Annotations)
	} else {
		assert.Equal(t, p.Annotations, pvc.Annotations)
	}
}

// checkMountedDirectory asserts that file is in a directory mounted read-only
// without subPath from the volume that volumeOf describes, which projects
// the file from the object named want.
func checkMountedDirectory(t *testing.T, w workload, file string, volumeOf func(corev1.Volume) (string, []corev1.KeyToPath, *int32), want string) {
	t.Helper()
	c := exporter(t, w)
	dir, name := path.Split(file)
	dir = strings.TrimSuffix(dir, "/")
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == dir {
			mount = &c.VolumeMounts[i]
		}
	}
	require.NotNil(t, mount, "no volume is mounted at %s", dir)
	assert.True(t, mount.ReadOnly, "%s must be mounted read-only", dir)
	assert.Empty(t, mount.SubPath, "%s must be a directory mount, without subPath", dir)
	vol := w.volume(mount.Name)
	require.NotNil(t, vol, "no volume %s", mount.Name)
	object, items, mode := volumeOf(*vol)
	assert.Equal(t, want, object)
	if len(items) > 0 {
		assert.True(t, slices.ContainsFunc(items, func(k corev1.KeyToPath) bool { return k.Path == name }), "the volume does not project %s", name)
	}
	require.NotNil(t, mode)
	assert.EqualValues(t, 0o440, *mode, "readable by the owner and the exporter's group only")
}

// buildExporter builds the exporter from the repository.
func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kartustok_exporter")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the exporter:\n%s", out)
	return bin
}

// checkCommandLine runs the exporter's --config.check with the rendered
// arguments, the token and minimums files and the state directory laid out
// as the kubelet would mount them: every flag must exist and every value
// must be valid.
func checkCommandLine(t *testing.T, r *rendering, exporterBin string) {
	w := r.workload(t)
	c := exporter(t, w)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "state"), 0o700))
	args := []string{"--config.check"}
	for _, a := range c.Args {
		a = strings.ReplaceAll(a, etcDir, dir+string(filepath.Separator))
		args = append(args, strings.ReplaceAll(a, stateDir, filepath.Join(dir, "state")))
	}
	run := func(tokens []string, env ...string) {
		t.Helper()
		cmd := exec.Command(exporterBin, args...)
		cmd.Env = append([]string{}, env...) // not nil: nothing inherited, in particular no KARTUSTOK_TOKEN
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s kartustok_exporter %s:\n%s", strings.Join(env, " "), strings.Join(args, " "), out)
		for _, token := range tokens {
			assert.NotContains(t, string(out), token, "the exporter printed a token")
		}
		assert.NotContains(t, string(out), "warning: token file", "the exporter finds a token file's mode unsafe")
	}

	if len(r.values.Companies) > 0 {
		if !exporterHasConfigFile(t, exporterBin) {
			t.Skip("the exporter built from the repository has no --config.file yet: the companies file is checked with its package config only (the companies check)")
		}
		tokens := layOutCompanies(t, r, dir)
		if w.sts == nil {
			run(tokens)
			return
		}
		// Every pod, each taking its shard from its name.
		for i := range int(*w.replicas) {
			run(tokens, fmt.Sprintf("POD_NAME=%s-%d", w.sts.Name, i))
		}
		return
	}

	v := r.values
	token := "placeholder-token-of-an-existing-secret"
	if v.Kartustok.Token.Value != "" {
		token = v.Kartustok.Token.Value
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "token"), 0o700))
	tokenFile := filepath.Join(dir, "token", v.Kartustok.Token.Key)
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	// The mode of the Secret volume's files (checkMountedDirectory).
	require.NoError(t, os.Chmod(tokenFile, 0o440))
	if v.Minimums.Content != "" || v.Minimums.ExistingConfigMap != "" {
		content := v.Minimums.Content
		if content == "" {
			content = "items: []\n"
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "minimums"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "minimums", v.Minimums.Key), []byte(content), 0o600))
	}
	run([]string{token})
}

// ruleExprs calls f with a pointer to the expr of every rule in a rule
// file's groups, decoded generically.
func ruleExprs(t *testing.T, groups any, f func(expr *string)) {
	t.Helper()
	gs, ok := groups.([]any)
	require.True(t, ok, "groups is not a list")
	for _, g := range gs {
		rules, ok := g.(map[string]any)["rules"].([]any)
		require.True(t, ok, "a group without rules")
		for _, rule := range rules {
			m := rule.(map[string]any)
			expr, ok := m["expr"].(string)
			require.True(t, ok, "a rule without an expr")
			f(&expr)
			m["expr"] = expr
		}
	}
}

var jobMatcher = regexp.MustCompile("\\bjob\\s*(?:=~|!~|!=|=)\\s*(?:\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`)")

// TestPrometheusRuleIsTheAlertsFile proves that the PrometheusRule carries
// exactly the rule groups of alerts/kartustok.rules.yml, and that a custom
// job changes the job matcher and nothing else.
func TestPrometheusRuleIsTheAlertsFile(t *testing.T) {
	alerts, err := os.ReadFile(filepath.Join(repoRoot, "alerts", "kartustok.rules.yml"))
	require.NoError(t, err)
	chartCopy, err := os.ReadFile(filepath.Join(chartDir, "files", "kartustok.rules.yml"))
	require.NoError(t, err)
	if d := firstDifference(string(alerts), string(chartCopy)); d != "" {
		t.Fatalf("deploy/helm/kartustok-exporter/files/kartustok.rules.yml is not alerts/kartustok.rules.yml (%s): refresh the chart's copy from the repository's root with\n\t%s", d, refreshRules)
	}

	// The rules file as the operator's type for its spec reads it.
	j, err := yaml.YAMLToJSONStrict(alerts)
	require.NoError(t, err)
	var spec monitoringv1.PrometheusRuleSpec
	strict, err := kjson.UnmarshalStrict(j, &spec)
	require.NoError(t, err)
	require.Empty(t, strict, "alerts/kartustok.rules.yml has fields a PrometheusRule does not know")
	var want map[string]any
	require.NoError(t, json.Unmarshal(j, &want))

	// The rules select the job the chart replaces, and values.yaml's job is
	// that job, so that the default render is the file itself.
	defaultJob := loadValues(t).Job
	wantMatcher := fmt.Sprintf("job=%q", defaultJob)
	matchers := 0
	ruleExprs(t, want["groups"], func(expr *string) {
		for _, m := range jobMatcher.FindAllString(*expr, -1) {
			require.Equal(t, wantMatcher, m,
				"alerts/kartustok.rules.yml selects the job with %s, but the chart replaces exactly %s: update kartustok-exporter.rulesFileJob in templates/_helpers.tpl and job in values.yaml", m, wantMatcher)
			matchers++
		}
	})
	require.NotZero(t, matchers, "alerts/kartustok.rules.yml selects no job, so the chart's job value changes nothing: revisit prometheusrule.yaml")

	helmBinary(t)
	jobs := map[string]bool{}
	for _, set := range valueSets(t) {
		values := loadValues(t, set)
		if !values.PrometheusRule.Enabled {
			continue
		}
		t.Run(path.Base(set), func(t *testing.T) {
			r := render(t, set)
			jobs[values.Job] = true
			raw, err := yaml.YAMLToJSON([]byte(r.one(t, "PrometheusRule").raw))
			require.NoError(t, err)
			var got struct {
				Spec map[string]any `json:"spec"`
			}
			require.NoError(t, json.Unmarshal(raw, &got))
			if values.Job != defaultJob {
				// Only the job matchers differ: put the file's back.
				from := fmt.Sprintf("job=%q", values.Job)
				replaced := 0
				ruleExprs(t, got.Spec["groups"], func(expr *string) {
					replaced += strings.Count(*expr, from)
					*expr = strings.ReplaceAll(*expr, from, wantMatcher)
				})
				assert.Equal(t, matchers, replaced, "with job %q, every job matcher of the rules must select it", values.Job)
			}
			if d := specDifference(want, got.Spec); d != "" {
				t.Errorf("the PrometheusRule's groups are not those of alerts/kartustok.rules.yml: %s", d)
			}
		})
	}
	assert.True(t, jobs[defaultJob], "no value set in ci/ renders the PrometheusRule with the default job")
	assert.Greater(t, len(jobs), 1, "no value set in ci/ renders the PrometheusRule with another job")
}

// jsonJobMatcher is the matcher job="<job>" as a dashboard's JSON writes
// it inside a query's string.
func jsonJobMatcher(t *testing.T, job string) string {
	t.Helper()
	b, err := json.Marshal(fmt.Sprintf("job=%q", job))
	require.NoError(t, err)
	return string(b[1 : len(b)-1])
}

// TestDashboardsAreTheRepositorys proves that the dashboards ConfigMap
// carries exactly the repository's dashboards/*.json, and that a custom
// job changes the job matchers of their queries and nothing else.
func TestDashboardsAreTheRepositorys(t *testing.T) {
	want := map[string]string{}
	files, err := filepath.Glob(filepath.Join(repoRoot, "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		want[filepath.Base(f)] = string(b)
	}
	copies := map[string]string{}
	files, err = filepath.Glob(filepath.Join(chartDir, "files", "dashboards", "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		copies[filepath.Base(f)] = string(b)
	}
	for name, content := range want {
		c, ok := copies[name]
		if !ok {
			t.Errorf("deploy/helm/kartustok-exporter/files/dashboards/%s is missing", name)
		} else if d := firstDifference(content, c); d != "" {
			t.Errorf("deploy/helm/kartustok-exporter/files/dashboards/%s is not dashboards/%s (%s)", name, name, d)
		}
	}
	for name := range copies {
		if _, ok := want[name]; !ok {
			t.Errorf("deploy/helm/kartustok-exporter/files/dashboards/%s is no longer in dashboards/", name)
		}
	}
	if t.Failed() {
		t.Fatalf("refresh the chart's copies of the dashboards from the repository's root with\n\t%s", refreshDashboards)
	}

	// The dashboards' queries select the job the chart replaces, the
	// default of values.yaml's job, and only with that matcher: each query
	// of every dashboard has it.
	defaultJob := loadValues(t).Job
	wantMatcher := jsonJobMatcher(t, defaultJob)
	matchers := map[string]int{}
	for name, content := range want {
		for _, m := range jobMatcher.FindAllString(strings.ReplaceAll(content, `\"`, `"`), -1) {
			if strings.HasPrefix(m, "job=~") {
				continue // the $job variable
			}
			require.Equal(t, fmt.Sprintf("job=%q", defaultJob), m,
				"dashboards/%s selects the job with %s, but the chart replaces exactly job=%q: update kartustok-exporter.rulesFileJob in templates/_helpers.tpl and job in values.yaml", name, m, defaultJob)
		}
		matchers[name] = strings.Count(content, wantMatcher)
		queries := dashboardQueries(t, content)
		require.NotEmpty(t, queries, name)
		for _, q := range queries {
			assert.Contains(t, q, fmt.Sprintf("job=%q", defaultJob), "dashboards/%s: a query without the job the chart replaces", name)
		}
	}

	helmBinary(t)
	enabled := 0
	jobs := map[string]bool{}
	for _, set := range valueSets(t) {
		values := loadValues(t, set)
		if !values.Dashboards.Enabled {
			continue
		}
		enabled++
		jobs[values.Job] = true
		t.Run(path.Base(set), func(t *testing.T) {
			r := render(t, set)
			cm, ok := r.byName("ConfigMap", "acme-kartustok-exporter-dashboards").(*corev1.ConfigMap)
			require.True(t, ok, "no dashboards ConfigMap")
			assert.Equal(t, values.Dashboards.LabelValue, cm.Labels[values.Dashboards.Label], "the label Grafana's sidecar looks for")
			require.Len(t, cm.Data, len(want), "the ConfigMap's dashboards")
			for name, content := range want {
				got := cm.Data[name]
				assert.True(t, json.Valid([]byte(got)), "%s is not JSON", name)
				if values.Job != defaultJob {
					// Only the job matchers differ: put the file's back.
					from := jsonJobMatcher(t, values.Job)
					assert.Equal(t, matchers[name], strings.Count(got, from), "with job %q, every job matcher of %s must select it", values.Job, name)
					assert.NotContains(t, got, wantMatcher, "with job %q, %s still selects job=%q", values.Job, name, defaultJob)
					for _, q := range dashboardQueries(t, got) {
						assert.Contains(t, q, fmt.Sprintf("job=%q", values.Job), "%s: a query without the chart's job", name)
					}
					got = strings.ReplaceAll(got, from, wantMatcher)
				}
				if d := firstDifference(content, got); d != "" {
					t.Errorf("the ConfigMap's %s is not dashboards/%s (%s)", name, name, d)
				}
			}
		})
	}
	assert.NotZero(t, enabled, "no value set in ci/ enables the dashboards")
	assert.True(t, jobs[defaultJob], "no value set in ci/ renders the dashboards with the default job")
	assert.Greater(t, len(jobs), 1, "no value set in ci/ renders the dashboards with another job")
}

// dashboardQueries returns the PromQL of a dashboard: every panel's
// queries, those of panels in rows too, and every query variable's query.
func dashboardQueries(t *testing.T, content string) []string {
	t.Helper()
	type panel struct {
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal([]byte(content), &d))
	var out []string
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			require.NoError(t, json.Unmarshal(raw, &p))
			for _, target := range p.Targets {
				out = append(out, target.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, v.Query)
		}
	}
	return out
}

// TestValuesRefused checks that values the chart cannot honour fail the
// render with a message that says what to change.
func TestValuesRefused(t *testing.T) {
	helmBinary(t)
	base := []string{"--values", filepath.Join(chartDir, "ci", "default-values.yaml")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no URL", []string{"--set", "kartustok.url="}, "kartustok.url is required"},
		{"no token", []string{"--set", "kartustok.token.existingSecret="}, "a token is required"},
		{"two tokens", []string{"--set", "kartustok.token.value=x"}, "either kartustok.token.existingSecret or kartustok.token.value, not both"},
		{"two minimums", []string{"--set-string", "minimums.content=items: []", "--set", "minimums.existingConfigMap=m"}, "either minimums.content or minimums.existingConfigMap, not both"},
		{"token file in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--kartustok.token-file=/tmp/t"}, "must not contain --kartustok.token-file"},
		{"URL in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--kartustok.url=https://x.kartustok.com"}, "must not contain --kartustok.url"},
		{"minimums file in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--stock.minimums-file=/tmp/m.yml"}, "must not contain --stock.minimums-file: the chart sets it from minimums"},
		{"storage path in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--storage.path=/tmp"}, "must not contain --storage.path: the chart sets it to the volume of persistence"},
		{"existing claim without persistence", []string{"--set", "persistence.existingClaim=acme-state"}, "persistence.existingClaim is used only with persistence.enabled: true"},
		{"claim with a rolling update", []string{"--set", "persistence.enabled=true", "--set", "strategy.type=RollingUpdate"}, "with persistence.enabled, strategy.type must be Recreate"},
		{"claim with the default strategy", []string{"--set", "persistence.enabled=true", "--set", "strategy=null"}, "with persistence.enabled, strategy.type must be Recreate"},
		{"read-only claim", []string{"--set", "persistence.enabled=true", "--set", "persistence.accessModes[0]=ReadOnlyMany"}, "/persistence/accessModes/0"},
		{"size not a quantity", []string{"--set", "persistence.enabled=true", "--set", "persistence.size=1 GB"}, "/persistence/size"},
		{"misspelt emptyDir setting", []string{"--set", "persistence.emptyDir.sizelimit=64Mi"}, "'sizelimit' not allowed"},
		{"listen address in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--web.listen-address=:9000"}, "must not contain --web.listen-address: the container port, the probes, the Service and the ServiceMonitor use port 9472"},
		{"telemetry path in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--web.telemetry-path=/stock-metrics"}, "must not contain --web.telemetry-path: the ServiceMonitor scrapes /metrics"},
		{"systemd socket in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--web.systemd-socket"}, "must not contain --web.systemd-socket: a pod has no systemd socket to listen on"},
		{"demo in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--log.format=json", "--set", "kartustok.extraArgs[1]=--demo"}, "must not contain --demo: it exports a simulated company instead of kartustok.url's"},
		{"demo=true in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--demo=true"}, "must not contain --demo:"},
		{"config check in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--config.check"}, "must not contain --config.check: the exporter would check its configuration and exit, and the pod restart again and again"},
		{"API check in extraArgs", []string{"--set", "kartustok.extraArgs[0]=--kartustok.check"}, "must not contain --kartustok.check: the exporter would check the API and exit, and the pod restart again and again"},
		{"token in env", []string{"--set", "env[0].name=KARTUSTOK_TOKEN", "--set", "env[0].value=x"}, "env must not contain KARTUSTOK_TOKEN"},
		{"two replicas", []string{"--set", "replicaCount=2"}, "/replicaCount"},
		{"misspelt value", []string{"--set", "serviceMonitor.enable=true"}, "'enable' not allowed"},
		{"quote in job", []string{"--set-string", `job=a"b`}, "/job"},
		{"URL not HTTP", []string{"--set", "kartustok.url=acme.kartustok.com"}, "/kartustok/url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, append(slices.Clone(base), tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestDataKeysQuoted renders a Secret and a ConfigMap whose keys YAML would
// read as something else unquoted ("yes" as true): the key must stay the
// key the volume projects and the flag names.
func TestDataKeysQuoted(t *testing.T) {
	helmBinary(t)
	const key = "yes"
	out, err := helmTemplate(t, "--values", filepath.Join(chartDir, "ci", "default-values.yaml"),
		"--set", "kartustok.token.existingSecret=",
		"--set-string", "kartustok.token.value=ci-placeholder-token-0123456789",
		"--set-string", "kartustok.token.key="+key,
		"--set-string", "minimums.content=items: []",
		"--set-string", "minimums.key="+key)
	require.NoError(t, err)
	docs, err := decodeDocuments(out)
	require.NoError(t, err)
	r := &rendering{valuesFile: "kartustok.token.key=" + key, docs: docs}

	secret, ok := r.byName("Secret", "acme-kartustok-exporter-token").(*corev1.Secret)
	require.True(t, ok, "no token Secret")
	assert.Equal(t, []string{key}, slices.Collect(maps.Keys(secret.Data)), "the Secret's keys")
	assert.Equal(t, "ci-placeholder-token-0123456789", string(secret.Data[key]))

	cm, ok := r.byName("ConfigMap", "acme-kartustok-exporter-minimums").(*corev1.ConfigMap)
	require.True(t, ok, "no minimums ConfigMap")
	assert.Equal(t, []string{key}, slices.Collect(maps.Keys(cm.Data)), "the ConfigMap's keys")

	w := r.workload(t)
	c := exporter(t, w)
	tokenFile, _ := flagValue(c.Args, "--kartustok.token-file")
	assert.Equal(t, tokenDir+"/"+key, tokenFile)
	minimumsFile, _ := flagValue(c.Args, "--stock.minimums-file")
	assert.Equal(t, minimumsDir+"/"+key, minimumsFile)
	for _, v := range w.pod.Spec.Volumes {
		var items []corev1.KeyToPath
		switch {
		case v.Secret != nil:
			items = v.Secret.Items
		case v.ConfigMap != nil:
			items = v.ConfigMap.Items
		default:
			continue
		}
		assert.Equal(t, []corev1.KeyToPath{{Key: key, Path: key}}, items, "volume %s", v.Name)
	}
}

// firstDifference describes where got first differs from want, or is "" when
// they are equal.
func firstDifference(want, got string) string {
	if want == got {
		return ""
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d is %q, want %q", i+1, g, w)
		}
	}
	return "they differ"
}

// specDifference names the first rule group or rule in which the rendered
// spec differs from the rules file, or is "" when they are equal.
func specDifference(want, got map[string]any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	wg, _ := want["groups"].([]any)
	gg, _ := got["groups"].([]any)
	for i := range max(len(wg), len(gg)) {
		if i >= len(wg) || i >= len(gg) {
			return fmt.Sprintf("%d groups, want %d", len(gg), len(wg))
		}
		if reflect.DeepEqual(wg[i], gg[i]) {
			continue
		}
		wr, _ := wg[i].(map[string]any)["rules"].([]any)
		gr, _ := gg[i].(map[string]any)["rules"].([]any)
		for j := range min(len(wr), len(gr)) {
			if !reflect.DeepEqual(wr[j], gr[j]) {
				w, _ := json.Marshal(wr[j])
				g, _ := json.Marshal(gr[j])
				return fmt.Sprintf("group %d, rule %d is\n\t%s\nwant\n\t%s", i+1, j+1, g, w)
			}
		}
		w, _ := json.Marshal(wg[i])
		g, _ := json.Marshal(gg[i])
		return fmt.Sprintf("group %d is\n\t%s\nwant\n\t%s", i+1, g, w)
	}
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	return fmt.Sprintf("the spec is\n\t%s\nwant\n\t%s", g, w)
}
