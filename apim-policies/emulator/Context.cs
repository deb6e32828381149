// The `context` object expressions see, plus the emulator's per-request state.
using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;
using Apim.ObjectModel;

namespace Apim.Emulator
{
    public sealed class LastError : ILastError
    {
        public string Source { get; set; }
        public string Reason { get; set; }
        public string Message { get; set; }
        public string Scope { get; set; }
        public string Section { get; set; }
        public string Path { get; set; }
        public string PolicyId { get; set; }
    }

    public sealed class ApiInfo : IApi
    {
        public string Id { get; set; }
        public string Name { get; set; }
        public string Path { get; set; }
        public IEnumerable<string> Protocols { get; set; }
        public IUrl ServiceUrl { get; set; }
        public ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get { return null; } }
    }

    public sealed class OperationInfo : IOperation
    {
        public string Id { get; set; }
        public string Method { get; set; }
        public string Name { get; set; }
        public string UrlTemplate { get; set; }
    }

    public sealed class DeploymentInfo : IDeployment, IGateway
    {
        public string GatewayId { get { return "managed"; } }
        public string Region { get; set; }
        public string ServiceId { get { return "/subscriptions/local/resourceGroups/local/providers/Microsoft.ApiManagement/service/" + ServiceName; } }
        public string ServiceName { get; set; }
        public IReadOnlyDictionary<string, X509Certificate2> Certificates { get { return new Dictionary<string, X509Certificate2>(); } }
        public IGateway Gateway { get { return this; } }
        public string Id { get { return "managed"; } }
        public string InstanceId { get { return "emulator"; } }
        public bool IsManaged { get { return true; } }
    }

    public sealed class GatewayContext : IContext
    {
        public readonly Dictionary<string, object> VariablesImpl = new Dictionary<string, object>(StringComparer.Ordinal);
        public readonly DateTime Started = DateTime.UtcNow;
        public Request RequestImpl;
        public Response ResponseImpl = new Response();
        public LastError LastErrorImpl;
        public ApiInfo ApiImpl;
        public OperationInfo OperationImpl;
        public DeploymentInfo DeploymentImpl;
        public Gateway Gateway;
        public string Section = "";
        public string Scope = "";
        // The backend base URL (service URL or set-backend-service) and the path below it.
        public string BackendBase;
        public string BackendPath;
        // Work deferred to the end of the pipeline (rate-limit counters with conditions, CORS headers).
        public readonly List<Action> Finally = new List<Action>();
        public readonly List<Action<Response>> ResponseDecorators = new List<Action<Response>>();
        public Policy CurrentPolicy;
        public ApiDef ApiDef;
        public OpDef OpDef;

        public IApi Api { get { return ApiImpl; } }
        public IDeployment Deployment { get { return DeploymentImpl; } }
        public TimeSpan Elapsed { get { return DateTime.UtcNow - Started; } }
        public ILastError LastError { get { return LastErrorImpl; } }
        public IOperation Operation { get { return OperationImpl; } }
        public IProduct Product { get { return null; } }
        public IRequest Request { get { return RequestImpl; } }
        public Guid RequestId { get; set; }
        public IResponse Response { get { return ResponseImpl; } }
        public ISubscription Subscription { get { return null; } }
        public DateTime Timestamp { get; set; }
        public bool Tracing { get { return false; } }
        public IUser User { get { return null; } }
        public IReadOnlyDictionary<string, object> Variables { get { return VariablesImpl; } }
        public IWorkspace Workspace { get { return null; } }

        public void Trace(string message)
        {
            Gateway.Events.Write(this, "trace", "context.Trace", "verbose", message, null);
        }
    }
}
