// The APIM policy-expression object model, written from the Learn page "API Management policy
// expressions" (the `context` variable). Expressions are compiled against these declarations
// exactly as documented; the emulator implements the interfaces. Names of the interfaces
// expressions may spell out (IResponse, IRequest, IMessageBody, IUrl, Jwt, BasicAuthCredentials)
// follow the documentation, because policies cast variables to them, e.g.
// ((IResponse)context.Variables["r"]).Body.As<JObject>().
using System;
using System.Collections.Generic;
using System.Security.Cryptography.X509Certificates;

namespace Apim.ObjectModel
{
    public interface IContext
    {
        IApi Api { get; }
        IDeployment Deployment { get; }
        TimeSpan Elapsed { get; }
        ILastError LastError { get; }
        IOperation Operation { get; }
        IProduct Product { get; }
        IRequest Request { get; }
        Guid RequestId { get; }
        IResponse Response { get; }
        ISubscription Subscription { get; }
        DateTime Timestamp { get; }
        bool Tracing { get; }
        IUser User { get; }
        IReadOnlyDictionary<string, object> Variables { get; }
        IWorkspace Workspace { get; }
        void Trace(string message);
    }

    public interface IApi
    {
        string Id { get; }
        string Name { get; }
        string Path { get; }
        IEnumerable<string> Protocols { get; }
        IUrl ServiceUrl { get; }
        ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get; }
    }

    public interface ISubscriptionKeyParameterNames
    {
        string Header { get; }
        string Query { get; }
    }

    public interface IDeployment
    {
        string GatewayId { get; }
        string Region { get; }
        string ServiceId { get; }
        string ServiceName { get; }
        IReadOnlyDictionary<string, X509Certificate2> Certificates { get; }
        IGateway Gateway { get; }
    }

    public interface IGateway
    {
        string Id { get; }
        string InstanceId { get; }
        bool IsManaged { get; }
    }

    public interface ILastError
    {
        string Source { get; }
        string Reason { get; }
        string Message { get; }
        string Scope { get; }
        string Section { get; }
        string Path { get; }
        string PolicyId { get; }
    }

    public interface IOperation
    {
        string Id { get; }
        string Method { get; }
        string Name { get; }
        string UrlTemplate { get; }
    }

    public interface IProduct
    {
        IEnumerable<IApi> Apis { get; }
        bool ApprovalRequired { get; }
        IEnumerable<IGroup> Groups { get; }
        string Id { get; }
        string Name { get; }
        ProductState State { get; }
        int? SubscriptionLimit { get; }
        bool SubscriptionRequired { get; }
        IWorkspace Workspace { get; }
    }

    public enum ProductState { NotPublished, Published }

    public interface IGroup
    {
        string Id { get; }
        string Name { get; }
    }

    public interface IWorkspace
    {
        string Id { get; }
        string Name { get; }
    }

    public interface IRequest
    {
        IMessageBody Body { get; }
        X509Certificate2 Certificate { get; }
        IReadOnlyDictionary<string, string[]> Headers { get; }
        string IpAddress { get; }
        IReadOnlyDictionary<string, string> MatchedParameters { get; }
        string Method { get; }
        IUrl OriginalUrl { get; }
        IUrl Url { get; }
        IPrivateEndpointConnection PrivateEndpointConnection { get; }
    }

    public interface IPrivateEndpointConnection
    {
        string Name { get; }
        string GroupId { get; }
        string MemberName { get; }
    }

    public interface IResponse
    {
        IMessageBody Body { get; }
        IReadOnlyDictionary<string, string[]> Headers { get; }
        int StatusCode { get; }
        string StatusReason { get; }
    }

    public interface IMessageBody
    {
        // T is one of string, byte[], JObject, JToken, JArray, XNode, XElement, XDocument.
        // Without preserveContent: true the body is consumed: a second read sees nothing.
        T As<T>(bool preserveContent = false);
        IDictionary<string, IList<string>> AsFormUrlEncodedContent(bool preserveContent = false);
    }

    public interface IUrl
    {
        string Host { get; }
        string Path { get; }
        int Port { get; }
        IReadOnlyDictionary<string, string[]> Query { get; }
        string QueryString { get; }
        string Scheme { get; }
    }

    public interface ISubscription
    {
        DateTime CreatedDate { get; }
        DateTime? EndDate { get; }
        string Id { get; }
        string Key { get; }
        string Name { get; }
        string PrimaryKey { get; }
        string SecondaryKey { get; }
        DateTime? StartDate { get; }
    }

    public interface IUser
    {
        string Email { get; }
        string FirstName { get; }
        IEnumerable<IGroup> Groups { get; }
        string Id { get; }
        IEnumerable<IUserIdentity> Identities { get; }
        string LastName { get; }
        string Note { get; }
        DateTime RegistrationDate { get; }
    }

    public interface IUserIdentity
    {
        string Id { get; }
        string Provider { get; }
    }

    public class BasicAuthCredentials
    {
        public BasicAuthCredentials(string userId, string password) { UserId = userId; Password = password; }
        public string Password { get; private set; }
        public string UserId { get; private set; }
    }

    public class Jwt
    {
        public string Algorithm { get; internal set; }
        public IEnumerable<string> Audiences { get; internal set; }
        public IReadOnlyDictionary<string, string[]> Claims { get; internal set; }
        public DateTime? ExpirationTime { get; internal set; }
        public string Id { get; internal set; }
        public string Issuer { get; internal set; }
        public DateTime? IssuedAt { get; internal set; }
        public DateTime? NotBefore { get; internal set; }
        public string Subject { get; internal set; }
        public string Type { get; internal set; }
    }
}
