// Graph types exist only where the Graph extension is declared.
resource app 'Microsoft.Graph/applications@v1.0' = { // want `Microsoft Graph types need the Graph extension in this file: add`
  uniqueName: 'fixture-app'
  displayName: 'Fixture'
}
