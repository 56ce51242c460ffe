/// The version dynsync reports and records in every manifest.
public enum DynSyncVersion {
  public static let current = "0.1.0"
}
