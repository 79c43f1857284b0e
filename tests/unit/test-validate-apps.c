/* Validation of workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet,
 * Job and CronJob. */
#include "test-validate.h"
#include "test.h"

#define MISMATCH "`selector` does not match template `labels`"

static const vcase apps_cases[] = {
    {"no-selector", "Deployment", "{'spec':{'selector':null}}", "spec.selector: Required value"},
    {"selector-mismatch", "Deployment",
     "{'spec':{'template':{'metadata':{'labels':{'app':'x'}}}}}",
     "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: " MISMATCH},
    {"selector-no-template-labels", "ReplicaSet",
     "{'spec':{'template':{'metadata':{'labels':null}}}}",
     "spec.template.metadata.labels: Invalid value: map[string]string(nil): " MISMATCH},
    {"empty-selector", "Deployment", "{'spec':{'selector':{'matchLabels':null}}}",
     "spec.selector: Invalid value: {}: empty selector is invalid for deployment"},
    {"selector-operator", "Deployment",
     "{'spec':{'selector':{'matchExpressions':[{'key':'tier','operator':'Like','values':['a']}]}}}",
     "spec.selector.matchExpressions[0].operator: Invalid value: \"Like\": not a valid selector "
     "operator"},
    {"selector-in-without-values", "ReplicaSet",
     "{'spec':{'selector':{'matchExpressions':[{'key':'tier','operator':'In'}]}}}",
     "spec.selector.matchExpressions[0].values: Required value: must be specified when "
     "`operator` is 'In' or 'NotIn'"},
    {"selector-label-value", "Deployment",
     "{'spec':{'selector':{'matchLabels':{'app':'a b'}},'template':{'metadata':{'labels':"
     "{'app':'a b'}}}}}",
     "spec.selector.matchLabels: Invalid value: \"a b\": a valid label must be an empty string "
     "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
     "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
     "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')\n"
     "spec.template.metadata.labels: Invalid value: \"a b\": a valid label must be an empty "
     "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
     "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
     "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
    {"negative-replicas", "Deployment", "{'spec':{'replicas':-1}}",
     "spec.replicas: Invalid value: -1: " VT_NONNEG},
    {"replicas-string", "ReplicaSet", "{'spec':{'replicas':'3'}}",
     "spec.replicas: Invalid value: \"3\": must be an integer"},
    {"strategy-type", "Deployment", "{'spec':{'strategy':{'type':'BlueGreen'}}}",
     "spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", "
     "\"RollingUpdate\""},
    {"recreate-with-rolling", "Deployment",
     "{'spec':{'strategy':{'type':'Recreate','rollingUpdate':{'maxSurge':1}}}}",
     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
     "'Recreate'"},
    {"both-zero", "Deployment",
     "{'spec':{'strategy':{'rollingUpdate':{'maxSurge':0,'maxUnavailable':0}}}}",
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
     "`maxSurge` is 0"},
    {"both-zero-percent", "Deployment",
     "{'spec':{'strategy':{'rollingUpdate':{'maxSurge':'0%','maxUnavailable':0}}}}",
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
     "`maxSurge` is 0"},
    {"max-unavailable-over-100", "Deployment",
     "{'spec':{'strategy':{'rollingUpdate':{'maxUnavailable':'150%'}}}}",
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater "
     "than 100%"},
    {"max-surge-not-percent", "Deployment",
     "{'spec':{'strategy':{'rollingUpdate':{'maxSurge':'abc'}}}}",
     "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"abc\": a valid percent string must "
     "be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
     "validation is '[0-9]+%')"},
    {"max-surge-negative", "Deployment",
     "{'spec':{'strategy':{'rollingUpdate':{'maxSurge':-1}}}}",
     "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: " VT_NONNEG},
    {"history-limit", "Deployment", "{'spec':{'revisionHistoryLimit':-1}}",
     "spec.revisionHistoryLimit: Invalid value: -1: " VT_NONNEG},
    {"progress-deadline", "Deployment",
     "{'spec':{'progressDeadlineSeconds':5,'minReadySeconds':10}}",
     "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"},
    {"template-deadline", "Deployment",
     "{'spec':{'template':{'spec':{'activeDeadlineSeconds':30}}}}",
     "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet "
     "is not Supported"},
    {"rs-min-ready", "ReplicaSet", "{'spec':{'minReadySeconds':-3}}",
     "spec.minReadySeconds: Invalid value: -3: " VT_NONNEG},
    {"sts-pod-management", "StatefulSet", "{'spec':{'podManagementPolicy':'Random'}}",
     "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"},
    {"sts-update-type", "StatefulSet", "{'spec':{'updateStrategy':{'type':'Rolling'}}}",
     "spec.updateStrategy.type: Invalid value: \"Rolling\": must be 'RollingUpdate' or 'OnDelete'"},
    {"sts-partition", "StatefulSet",
     "{'spec':{'updateStrategy':{'rollingUpdate':{'partition':-1}}}}",
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: " VT_NONNEG},
    {"sts-ondelete-rolling", "StatefulSet",
     "{'spec':{'updateStrategy':{'type':'OnDelete','rollingUpdate':{'partition':1}}}}",
     "spec.updateStrategy.rollingUpdate: Invalid value: {\"partition\":1}: only allowed for "
     "updateStrategy 'RollingUpdate'"},
    {"sts-empty-selector", "StatefulSet",
     "{'spec':{'selector':{'matchLabels':null,'matchExpressions':[]}}}",
     "spec.selector: Invalid value: {\"matchExpressions\":[]}: empty selector is invalid for "
     "statefulset"},
    {"sts-service-name", "StatefulSet", "{'spec':{'serviceName':'My_Svc'}}",
     "spec.serviceName: Invalid value: \"My_Svc\": " VT_DNS1035},
    {"sts-restart-policy", "StatefulSet",
     "{'spec':{'template':{'spec':{'restartPolicy':'OnFailure'}}}}",
     "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: "
     "\"Always\""},
    {"sts-claim-storage", "StatefulSet",
     "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'www'},'spec':{'accessModes':"
     "['ReadWriteOnce']}}]}}",
     "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"},
    {"sts-claim-access-mode", "StatefulSet",
     "{'spec':{'volumeClaimTemplates':[{'metadata':{'name':'www'},'spec':{'accessModes':"
     "['ReadWriteAlways'],'resources':{'requests':{'storage':'1Gi'}}}}]}}",
     "spec.volumeClaimTemplates[0].spec.accessModes: Unsupported value: \"ReadWriteAlways\": "
     "supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", "
     "\"ReadWriteOncePod\""},
    {"sts-claim-name", "StatefulSet",
     "{'spec':{'volumeClaimTemplates':[{'spec':{'accessModes':['ReadWriteOnce'],'resources':"
     "{'requests':{'storage':'1Gi'}}}}]}}",
     "spec.volumeClaimTemplates[0].metadata.name: Required value: name or generateName is "
     "required"},
    {"sts-mount-unknown-claim", "StatefulSet",
     "{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i','volumeMounts':"
     "[{'name':'www','mountPath':'/www'}]}]}}}}",
     "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"www\""},
    {"ds-update-type", "DaemonSet", "{'spec':{'updateStrategy':{'type':'Rolling'}}}",
     "spec.updateStrategy.type: Unsupported value: \"Rolling\": supported values: "
     "\"RollingUpdate\", \"OnDelete\""},
    {"ds-both-zero", "DaemonSet",
     "{'spec':{'updateStrategy':{'rollingUpdate':{'maxUnavailable':0}}}}",
     "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when "
     "maxSurge is 0"},
    {"ds-both-set", "DaemonSet",
     "{'spec':{'updateStrategy':{'rollingUpdate':{'maxUnavailable':1,'maxSurge':1}}}}",
     "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when "
     "maxUnavailable is non-zero"},
    {"ds-selector-mismatch", "DaemonSet", "{'spec':{'selector':{'matchLabels':{'app':'x'}}}}",
     "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"agent\"}: " MISMATCH},
    {"ds-deadline", "DaemonSet", "{'spec':{'template':{'spec':{'activeDeadlineSeconds':5}}}}",
     "spec.template.spec.activeDeadlineSeconds: Invalid value: 5: activeDeadlineSeconds in "
     "DaemonSet is not Supported"},
};

static const vcase batch_cases[] = {
    {"job-restart-unset", "Job", "{'spec':{'template':{'spec':{'restartPolicy':null}}}}",
     "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""},
    {"job-restart-always", "Job", "{'spec':{'template':{'spec':{'restartPolicy':'Always'}}}}",
     "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""},
    {"job-restart-bad", "Job", "{'spec':{'template':{'spec':{'restartPolicy':'Later'}}}}",
     "spec.template.spec.restartPolicy: Unsupported value: \"Later\": supported values: "
     "\"Always\", \"OnFailure\", \"Never\"\n"
     "spec.template.spec.restartPolicy: Unsupported value: \"Later\": supported values: "
     "\"OnFailure\", \"Never\""},
    {"job-parallelism", "Job", "{'spec':{'parallelism':-1}}",
     "spec.parallelism: Invalid value: -1: " VT_NONNEG},
    {"job-completions", "Job", "{'spec':{'completions':-2}}",
     "spec.completions: Invalid value: -2: " VT_NONNEG},
    {"job-backoff", "Job", "{'spec':{'backoffLimit':-1}}",
     "spec.backoffLimit: Invalid value: -1: " VT_NONNEG},
    {"job-deadline", "Job", "{'spec':{'activeDeadlineSeconds':0}}",
     "spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0"},
    {"job-completion-mode", "Job", "{'spec':{'completionMode':'Sometimes'}}",
     "spec.completionMode: Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", "
     "\"Indexed\""},
    {"job-indexed-needs-completions", "Job",
     "{'spec':{'completionMode':'Indexed','parallelism':2}}",
     "spec.completions: Required value: when completion mode is Indexed"},
    {"job-selector-mismatch", "Job", "{'spec':{'selector':{'matchLabels':{'app':'other'}}}}",
     "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"once\"}: " MISMATCH},
    {"job-manual-selector", "Job", "{'spec':{'manualSelector':true}}",
     "spec.selector: Required value"},
    {"job-suspend-type", "Job", "{'spec':{'suspend':'yes'}}",
     "spec.suspend: Invalid value: \"yes\": must be a boolean"},
    {"cron-no-schedule", "CronJob", "{'spec':{'schedule':null}}", "spec.schedule: Required value"},
    {"cron-four-fields", "CronJob", "{'spec':{'schedule':'* * * *'}}",
     "spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]"},
    {"cron-six-fields", "CronJob", "{'spec':{'schedule':'0 0 * * * *'}}",
     "spec.schedule: Invalid value: \"0 0 * * * *\": expected exactly 5 fields, found 6: "
     "[0 0 * * * *]"},
    {"cron-minute-range", "CronJob", "{'spec':{'schedule':'61 * * * *'}}",
     "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"},
    {"cron-zero-step", "CronJob", "{'spec':{'schedule':'*/0 * * * *'}}",
     "spec.schedule: Invalid value: \"*/0 * * * *\": step of range should be a positive "
     "number: */0"},
    {"cron-bad-name", "CronJob", "{'spec':{'schedule':'0 0 * FOO *'}}",
     "spec.schedule: Invalid value: \"0 0 * FOO *\": failed to parse int from FOO: "
     "strconv.Atoi: parsing \"FOO\": invalid syntax"},
    {"cron-day-zero", "CronJob", "{'spec':{'schedule':'0 0 0 * *'}}",
     "spec.schedule: Invalid value: \"0 0 0 * *\": beginning of range (0) below minimum (1): 0"},
    {"cron-backwards", "CronJob", "{'spec':{'schedule':'5-1 * * * *'}}",
     "spec.schedule: Invalid value: \"5-1 * * * *\": beginning of range (5) beyond end of "
     "range (1): 5-1"},
    {"cron-hyphens", "CronJob", "{'spec':{'schedule':'1-2-3 * * * *'}}",
     "spec.schedule: Invalid value: \"1-2-3 * * * *\": too many hyphens: 1-2-3"},
    {"cron-weekday-seven", "CronJob", "{'spec':{'schedule':'0 0 * * 7'}}",
     "spec.schedule: Invalid value: \"0 0 * * 7\": end of range (7) above maximum (6): 7"},
    {"cron-descriptor", "CronJob", "{'spec':{'schedule':'@fortnightly'}}",
     "spec.schedule: Invalid value: \"@fortnightly\": unrecognized descriptor: @fortnightly"},
    {"cron-every", "CronJob", "{'spec':{'schedule':'@every 5x'}}",
     "spec.schedule: Invalid value: \"@every 5x\": failed to parse duration @every 5x: time: "
     "unknown unit \"x\" in duration \"5x\""},
    {"cron-tz", "CronJob", "{'spec':{'schedule':'TZ=UTC 0 * * * *'}}",
     "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in "
     "schedule, use timeZone field instead"},
    {"cron-concurrency", "CronJob", "{'spec':{'concurrencyPolicy':'Sometimes'}}",
     "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", "
     "\"Forbid\", \"Replace\""},
    {"cron-starting-deadline", "CronJob", "{'spec':{'startingDeadlineSeconds':-1}}",
     "spec.startingDeadlineSeconds: Invalid value: -1: " VT_NONNEG},
    {"cron-history", "CronJob",
     "{'spec':{'successfulJobsHistoryLimit':-1,'failedJobsHistoryLimit':-2}}",
     "spec.successfulJobsHistoryLimit: Invalid value: -1: " VT_NONNEG "\n"
     "spec.failedJobsHistoryLimit: Invalid value: -2: " VT_NONNEG},
    {"cron-timezone", "CronJob", "{'spec':{'timeZone':'Mars/Olympus_Mons'}}",
     "spec.timeZone: Invalid value: \"Mars/Olympus_Mons\": unknown time zone Mars/Olympus_Mons"},
    {"cron-timezone-local", "CronJob", "{'spec':{'timeZone':'Local'}}",
     "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as "
     "defined in https://www.iana.org/time-zones"},
    {"cron-template-restart", "CronJob",
     "{'spec':{'jobTemplate':{'spec':{'template':{'spec':{'restartPolicy':null}}}}}}",
     "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "
     "\"OnFailure\", \"Never\""},
    {"cron-template-selector", "CronJob",
     "{'spec':{'jobTemplate':{'spec':{'selector':{'matchLabels':{'app':'tick'}}}}}}",
     "spec.jobTemplate.spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"tick\"}}: "
     "`selector` will be auto-generated"},
    {"cron-template-image", "CronJob",
     "{'spec':{'jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'c'}]}}}}}}",
     "spec.jobTemplate.spec.template.spec.containers[0].image: Required value"},
};

BERTH_TEST(validate_apps_workloads)
{
    vt_run(apps_cases, sizeof apps_cases / sizeof apps_cases[0]);
}

BERTH_TEST(validate_batch_workloads)
{
    vt_run(batch_cases, sizeof batch_cases / sizeof batch_cases[0]);
}
